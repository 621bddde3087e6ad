"""Fixtures: an app per test on a fresh database (SQLite by default, MariaDB/MySQL when
TEST_DATABASE_URL is set), clients, role logins and CSRF-aware request helpers."""
from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from console import create_app
from console.extensions import db
from console.sync import budget

from . import factories

TEST_MASTER_KEY = "ktest1:" + "A" * 43  # 32 zero-ish bytes, base64url; tests only
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_TRAFFIC_DATABASE_URL = os.environ.get("TEST_TRAFFIC_DATABASE_URL")


def make_env(primary: str, traffic: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": primary, "TRAFFIC_DATABASE_URL": traffic, "SECRET_KEY": "test-secret",
            "CONSOLE_MASTER_KEY": TEST_MASTER_KEY, "CONSOLE_SCHEDULER": "off",
            "CONSOLE_PROVIDER_HOSTS": "api.hubapi.com,127.0.0.1", "CONSOLE_NOTIFY_HOSTS": "hooks.slack.com,127.0.0.1",
            **extra}


# A cheap hash for the suite's many users (scrypt costs about 0.2 s each); the test of the real hash sets
# PASSWORD_HASH_METHOD back to scrypt.
FAST_PASSWORD_HASH = "pbkdf2:sha256:1"


def build_app(instance: Path, primary: str, traffic: str, **config) -> Flask:
    # The dashboard's short cache is off: a test reads what it just wrote (tests/test_dashboard_scale.py turns it on).
    return create_app({"INSTANCE_PATH": str(instance), "TESTING": True, "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASH,
                       "DASHBOARD_CACHE_SECONDS": 0, **config}, env=make_env(primary, traffic))



@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path | None:
    """Both SQLite databases built once through the real migrations, copied for each test."""
    if TEST_DATABASE_URL:
        return None
    from console.extensions import upgrade

    folder = tmp_path_factory.mktemp("template")
    app = build_app(folder, f"sqlite:///{folder}/console.db", f"sqlite:///{folder}/traffic.db")
    with app.app_context():
        upgrade()
        for engine in db.engines.values():
            engine.dispose()
    return folder


def _wipe(app: Flask) -> None:
    """Empty every table (the runtime MySQL user may DELETE but not TRUNCATE or DROP)."""
    with app.app_context():
        for bind, metadata in db.metadatas.items():
            with db.engines[bind].begin() as conn:
                for table in reversed(metadata.sorted_tables):
                    conn.execute(table.delete())


@pytest.fixture
def app(tmp_path, sqlite_template) -> Iterator[Flask]:
    if TEST_DATABASE_URL:
        traffic = TEST_TRAFFIC_DATABASE_URL or re.sub(r"/(\w+)(\?|$)", r"/\1_traffic\2", TEST_DATABASE_URL)
        app = build_app(tmp_path, TEST_DATABASE_URL, traffic)
        _wipe(app)
    else:
        for name in ("console.db", "traffic.db"):
            shutil.copy(sqlite_template / name, tmp_path / name)
        app = build_app(tmp_path, f"sqlite:///{tmp_path}/console.db", f"sqlite:///{tmp_path}/traffic.db")

    @app.teardown_request
    def _fresh_g(_exc):
        # Tests keep one app context open (to use db.session), so `g` would outlive the request,
        # which never happens in production: Flask-Login's user and Flask-WTF's token live there.
        for key in list(g):
            g.pop(key)

    with app.app_context():
        yield app
        db.session.rollback()
        _assert_runs_balance()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
        budget.dispose()


def _assert_runs_balance() -> None:
    """The accounting invariant, checked on every sync run any test produced."""
    from console.models import IntegrationSyncRun

    for run in db.session.scalars(sa.select(IntegrationSyncRun)):
        assert run.buckets_balance, (f"run {run.id}: seen {run.seen} != created {run.created} + updated "
                                     f"{run.updated} + unchanged {run.unchanged} + duplicate {run.duplicate} "
                                     f"+ failed {run.failed}")


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Browser:
    """A signed-in test client that sends CSRF tokens like the real pages do."""

    def __init__(self, client: FlaskClient, user) -> None:
        self.client, self.user = client, user
        self._token: str | None = None

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = csrf_token(self.client, "/account/password")
        return self._token

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kw)

    def hx_get(self, path: str, **kw):
        return self.client.get(path, headers={"HX-Request": "true"}, **kw)

    def hx_post(self, path: str, data: dict | None = None, **kw):
        headers = {"HX-Request": "true", "X-CSRFToken": self.token}
        return self.client.post(path, data=data or {}, headers=headers, **kw)


def sign_in(client: FlaskClient, email: str, password: str, **extra):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, **extra})


@pytest.fixture
def login(app):
    """login(role, client=None) -> Browser signed in as a fresh user of that role."""

    def _login(role: str, client_obj=None) -> Browser:
        user = factories.user(role, client=client_obj)
        db.session.commit()
        http = app.test_client()
        resp = sign_in(http, user.email, factories.PASSWORD)
        assert resp.status_code == 303, resp.get_data(as_text=True)
        return Browser(http, user)

    return _login


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture(scope="session")
def sandbox():
    """One HubSpot sandbox on 127.0.0.1 for the session (rate limits off; tests that need limits
    or faults start their own with `SandboxServer`)."""
    from console.sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(contacts=250, deals=80, seed=7, limits=False)) as server:
        yield server


def closing_bodies(app):
    """WSGI middleware: a response body is closed even when the server gives up on it. Werkzeug's
    development server skips `close()` when the browser drops the connection mid-body (a test navigating
    on), leaving send_file's file to the garbage collector (a ResourceWarning, an error here); production
    servers close bodies. The generator's `finally` runs when it is closed or collected."""
    def serve(environ, start_response):
        body = app(environ, start_response)

        def stream():
            try:
                yield from body
            finally:
                if hasattr(body, "close"):
                    body.close()
        return stream()
    return serve


@pytest.fixture
def live_server(app):
    """The test app served on 127.0.0.1 (requests get their own app contexts and sessions)."""
    server = make_server("127.0.0.1", 0, closing_bodies(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
