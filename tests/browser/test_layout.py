"""Every page a role can open, at a desktop width and at a phone's (390 px): nothing scrolls sideways (a
wide table scrolls inside its own box), no script or CSP error, and axe-core (from npm, injected before the
page's own scripts) finds no accessibility violation. Screenshots under /tmp/layout/."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from console.extensions import db
from console.sandbox import SandboxConfig, SandboxServer

from .. import factories
from ..reporting import synced_connection
from .conftest import sign_in

SHOTS = Path("/tmp/layout")
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
# Which element sticks out of the window without a scrolling box around it: said when a page is too wide.
FIRST_UNCLIPPED = """() => {
  const clipped = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('body *')) {
    const right = el.getBoundingClientRect().right;
    if (right > window.innerWidth + 1 && !clipped(el)) return `${el.tagName}.${el.className}#${el.id} ${Math.round(right)}`;
  }
  return '';
}"""


# Every violation axe finds (WCAG 2.x A and AA and its best practices), with up to three elements each.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => `${v.id} (${v.impact}): ` +
    v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


def _pages(app, role: str, ids: dict[str, int]) -> list[str]:
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "allowed_roles", ())
        if "GET" not in rule.methods or role not in roles or rule.endpoint in ("wizard.oauth_callback",):
            continue
        if any(part not in ids for part in rule.arguments):
            continue
        path = rule.rule
        for name, value in ids.items():
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        if path.endswith((".csv", ".svg", "/metrics", "/health")) or "/chart" in path or path.startswith("/webhooks"):
            continue
        out.append(path)
    return sorted(set(out))


@pytest.fixture
def own_sandbox():
    """A sandbox of this test's own: the session's shared one stays exactly as the launch tests expect."""
    with SandboxServer(SandboxConfig(contacts=60, deals=20, seed=5, limits=False)) as server:
        yield server


@pytest.mark.parametrize("role", ["admin", "owner", "ops", "client"])
def test_no_page_scrolls_sideways_and_axe_finds_nothing(live_server, browser, axe_source, app, own_sandbox, role):
    client_obj = factories.client("Layout Dental")
    conn, runs = synced_connection(own_sandbox, client_obj)
    conn.status, conn.client_visible = "live", True
    user = factories.user(role, client=client_obj if role == "client" else None)
    if role == "owner":
        conn.owner_user_id = user.id
    db.session.commit()
    ids = {"connection_id": conn.id, "client_id": client_obj.id, "user_id": user.id,
           "run_id": next(iter(runs.values())).id}
    pages = _pages(app, role, ids)
    assert len(pages) >= (2 if role == "client" else 8), pages
    SHOTS.mkdir(parents=True, exist_ok=True)
    wide, inaccessible = [], []
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_init_script(path=str(axe_source))  # the browser's own injection: no CSP exception needed
        page = context.new_page()
        errors: list[str] = []
        # the probe opens some routes whose ids point at nothing (404): those loads are expected to fail
        page.on("console", lambda m, seen=errors: seen.append(m.text) if m.type == "error" and not m.text.startswith(
            "Failed to load resource: the server responded with a status of 4") else None)
        sign_in(page, live_server, user.email, factories.PASSWORD)
        for path in pages:
            try:
                resp = page.goto(f"{live_server}{path}")
            except PlaywrightError:  # an empty error answer (a fragment for another object's run, say)
                continue
            if resp is None or resp.status >= 400 or "text/html" not in (resp.headers.get("content-type") or ""):
                continue
            if not resp.text().lstrip().lower().startswith("<!doctype html"):
                continue  # a fragment its page polls for (the page itself is checked)
            page.wait_for_load_state("load")
            scroll, inner = page.evaluate("document.documentElement.scrollWidth"), page.evaluate("window.innerWidth")
            if scroll > inner:
                culprit = page.evaluate(FIRST_UNCLIPPED)
                wide.append(f"{size} {path}: {scroll} px ({culprit})")
            inaccessible += [f"{size} {path}: {v}" for v in page.evaluate(AXE_RUN)]
            page.screenshot(path=str(SHOTS / f"{role}-{size}-{path.strip('/').replace('/', '_') or 'root'}.png"))
        context.close()
        assert errors == [], errors
    assert wide == [], wide
    assert inaccessible == [], "\n".join(inaccessible)
