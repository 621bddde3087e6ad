"""Browser tests: Playwright driving Debian's Chromium against the console on a real socket.

Skipped, with the reason shown, only when no Chromium is installed; under CI they never skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the browser tests: install Debian's chromium (.ci/run does).")
    skip = pytest.mark.skip(reason="no Chromium installed (apt-get install chromium) - browser tests skipped")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


AXE_VERSION = "4.10.3"
AXE_HOME = Path(os.environ.get("AXE_CORE_HOME") or Path.home() / ".cache/connector-console/axe-core")


@pytest.fixture(scope="session")
def axe_source() -> Path:
    """axe-core from npm, installed for the tests (once per machine, pinned): the accessibility rules
    the layout test injects into every page."""
    path = AXE_HOME / "node_modules/axe-core/axe.min.js"
    if not path.exists() or f"axe v{AXE_VERSION}" not in path.read_text(errors="replace")[:200]:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility check (apt-get install npm)")
        AXE_HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(AXE_HOME),
                        f"axe-core@{AXE_VERSION}"], check=True, timeout=300)
    return path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    # A 422 answer (a form re-rendered with its errors) is logged by Chromium as a failed load; it is
    # the designed answer, not an error. Everything else (CSP violations, script errors) counts.
    pg.on("console", lambda m: errors.append(f"{m.text} at {m.location.get('url')}:{m.location.get('lineNumber')}")
          if m.type == "error" and "422" not in m.text else None)
    pg.console_errors = errors
    yield pg
    context.close()


def screenshot(page, path: str) -> None:
    """A full-page picture for the reader. caret="initial": Playwright's default caret hiding puts
    style="caret-color: transparent" on every input for a moment, and an htmx swap settling then copies
    that attribute onto the new elements, which the CSP (style-src 'self') blocks as a console error."""
    page.screenshot(path=path, full_page=True, caret="initial")


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@contextmanager
def running_dispatcher(app):
    """The in-process dispatcher as a serving process runs it: APScheduler's background scheduler with its
    timers (jobs/scheduler.py), ticking fast. On exit the timers stop before the pools shut down."""
    from jobs.scheduler import start_scheduler, stop_scheduler

    start_scheduler(app, 0.3)
    try:
        yield app.extensions["dispatcher"]
    finally:
        stop_scheduler(app)
