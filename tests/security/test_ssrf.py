"""No server-side request to an address a user chose, unless the deployment's allowlist names it.

A listener on 127.0.0.1 stands for an internal service: every internal address form is refused where it is
typed (API base URL, Slack webhook), and when one is already stored (an allowlist narrowed later), the
check, the sync and the notification refuse to call it: the listener sees zero connections and the
credentials never leave. The allowlisted sandbox keeps working."""
from __future__ import annotations

import json
import socket
import threading

import pytest
import sqlalchemy as sa

from console.extensions import db
from console.models import MonitorAlert
from console.monitoring.alerts import evaluate
from console.monitoring.notify import notify_pending
from console.security.outbound import OutboundRefused, check
from console.sync.inbound.runner import ensure_job, execute, start_run

from .. import factories
from ..wizard_flow import access, account, new_connection, token_and_check


class Listener:
    """Counts every TCP connection made to it (it never answers usefully)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port, self.connections = self.sock.getsockname()[1], 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def narrow(app, sandbox):
    """This deployment allows HubSpot and the sandbox's exact address, nothing else on the machine."""
    port = sandbox.url.rsplit(":", 1)[1]
    app.config["PROVIDER_HOSTS"] = ("api.hubapi.com", f"127.0.0.1:{port}")
    app.config["NOTIFY_HOSTS"] = ("hooks.slack.com",)


def internal_forms(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}", f"http://[::1]:{port}", f"http://0x7f000001:{port}", f"http://2130706433:{port}",
            f"http://localhost:{port}", "http://169.254.169.254/latest/meta-data", f"https://127.0.0.1:{port}",
            f"http://user:pw@127.0.0.1:{port}", "http://10.0.0.8", "http://[fd00::1]", "file:///etc/passwd"]


def test_the_check_refuses_internal_forms_and_names_resolving_inside():
    allowed = ("api.hubapi.com", "127.0.0.1:8765")
    for url in internal_forms(9) + ["https://api.hubapi.com.evil.example", "https://evil.example/api.hubapi.com"]:
        with pytest.raises(OutboundRefused):
            check(url, allowed)
    assert check("http://127.0.0.1:8765", allowed) == "http://127.0.0.1:8765"
    inside = lambda host, port, proto: [(2, 1, 6, "", ("10.1.2.3", port))]  # DNS pointing inward  # noqa: E731
    outside = lambda host, port, proto: [(2, 1, 6, "", ("104.16.0.1", port))]  # noqa: E731
    with pytest.raises(OutboundRefused):
        check("https://api.hubapi.com", allowed, resolve=inside)
    assert check("https://api.hubapi.com", allowed, resolve=outside)
    with pytest.raises(OutboundRefused):
        check("http://api.hubapi.com", allowed, resolve=outside)  # credentials to a named host over TLS only


def test_a_wildcard_entry_allows_hosts_under_its_suffix_only():
    """`*.my.salesforce.com` (an org's My Domain) allows acme.my.salesforce.com, never the suffix itself, a
    look-alike, a suffix inside another name, an address, or a name resolving inside."""
    allowed = ("*.my.salesforce.com",)
    outside = lambda host, port, proto: [(2, 1, 6, "", ("104.16.0.1", port))]  # noqa: E731
    inside = lambda host, port, proto: [(2, 1, 6, "", ("127.0.0.1", port))]  # noqa: E731
    assert check("https://acme.my.salesforce.com", allowed, resolve=outside)
    assert check("https://acme--dev.sandbox.my.salesforce.com", allowed, resolve=outside)
    for url in ("https://my.salesforce.com", "https://evilmy.salesforce.com", "https://acme.my.salesforce.com.evil.example",
                "https://evil.example/acme.my.salesforce.com", "http://acme.my.salesforce.com", "https://127.0.0.1",
                "https://acme.my.salesforce.com@evil.example"):
        with pytest.raises(OutboundRefused):
            check(url, allowed, resolve=outside)
    with pytest.raises(OutboundRefused):
        check("https://acme.my.salesforce.com", allowed, resolve=inside)  # DNS pointing inward
    for entry in ("*.", "*.com", "*"):  # too broad to mean anything: matches nothing
        with pytest.raises(OutboundRefused):
            check("https://acme.com", (entry,), resolve=outside)


def test_internal_base_urls_are_refused_and_never_called(login, sandbox, narrow, listener, app):
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn)
    assert account(owner, conn, sandbox).status_code == 200
    assert token_and_check(owner, conn, sandbox.token).status_code == 200  # the allowlisted sandbox works
    for url in internal_forms(listener.port):
        resp = owner.hx_post(f"/connections/{conn.id}/wizard/connection/account",
                             {"portal_id": "62515", "environment": "sandbox", "base_url": url})
        assert resp.status_code == 422, url
        assert "not an allowed address" in resp.get_data(as_text=True) or "full URL" in resp.get_data(as_text=True), url
    db.session.refresh(conn.account)
    assert conn.account.base_url == sandbox.url and conn.account.credentials_enc

    # Stored before the allowlist was narrowed: the check, a sync and the OAuth exchange refuse to call it.
    conn.account.base_url = f"http://127.0.0.1:{listener.port}"
    db.session.commit()
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/connection/check")
    assert resp.status_code == 422 and "not an allowed address" in resp.get_data(as_text=True)
    job = ensure_job(conn, "contacts")
    db.session.commit()
    run = start_run(job, "manual")
    execute(run)
    db.session.refresh(run)
    assert run.status == "failed" and "not an allowed address" in run.error_message
    assert listener.connections == 0


def test_changing_the_target_drops_the_stored_credentials(login, sandbox):
    owner = login("owner")
    conn = new_connection(owner)
    access(owner, conn)
    account(owner, conn, sandbox)
    token_and_check(owner, conn, sandbox.token)
    db.session.refresh(conn.account)
    assert conn.account.credentials_enc and conn.account.credentials_status == "valid"
    assert account(owner, conn, sandbox, portal_id="99999").status_code == 200  # another portal
    db.session.refresh(conn.account)
    assert conn.account.credentials_enc is None and conn.account.credentials_status == "unknown"
    resp = owner.hx_post(f"/connections/{conn.id}/wizard/connection/check")
    assert "No credentials are stored" in resp.get_data(as_text=True)


def test_slack_targets_inside_are_refused_and_never_called(login, app, narrow, listener):
    from datetime import timedelta

    from console.models.base import utcnow

    owner = login("owner")
    conn = factories.connection(factories.client(), owner_user_id=owner.user.id, status="live")
    job = ensure_job(conn, "deals", schedule_seconds=60, enabled=True)
    job.last_success_at = utcnow() - timedelta(hours=5)
    conn.notify_channel, conn.notify_target = "slack", f"http://127.0.0.1:{listener.port}/hook"
    db.session.commit()
    form = {"stale_multiple": 3, "pressure_pct": 20, "failed_webhooks": 5, "duplicate_events": 20,
            "freshness_target": 300, "freshness_objective": 99, "completeness": 95, "duplicate_records": 2,
            "unresolved": 2, "channel": "slack", "visibility_note": "Leads", "failure_path": "Page ops",
            "manual_fallback": "CSV import"}
    for target in [f"https://127.0.0.1:{listener.port}/hook", "https://169.254.169.254/hook",
                   "https://hooks.slack.com.evil.example/x"]:
        resp = owner.hx_post(f"/connections/{conn.id}/wizard/monitor", {**form, "target": target})
        assert resp.status_code == 422 and "not an allowed address" in resp.get_data(as_text=True), target
    evaluate()
    result = notify_pending()
    assert result["sent"] == 0 and result["failed"] >= 1
    alerts = db.session.scalars(sa.select(MonitorAlert)).all()
    # The same words whether the target is refused, silent or failing: nothing here probes an address.
    assert {a.notify_error for a in alerts} == {
        "The Slack webhook did not take the message; check the URL in the monitor step."}
    assert listener.connections == 0
    assert json.dumps(app.config["NOTIFY_HOSTS"]) == '["hooks.slack.com"]'
