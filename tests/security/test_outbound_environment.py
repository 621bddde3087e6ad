"""What the machine's environment may do to an outbound call: a `~/.netrc` (or `$NETRC`) naming the
provider's host must never put its login in place of the provider's bearer token, nor send it to a Slack
webhook or a token endpoint. requests consults it on every call unless told not to; the console's one
session factory (`security.outbound.http_session`) tells it not to."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from console.connectors.budget import LocalBudget
from console.connectors.hubspot.auth import PrivateAppToken, post_token
from console.connectors.hubspot.client import HubSpotClient
from console.security.outbound import post_json


@pytest.fixture
def netrc(tmp_path, monkeypatch):
    path = tmp_path / "netrc"
    path.write_text("machine 127.0.0.1 login machine-user password machine-secret\n")
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    return path


class Recorder(BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Recorder.seen.append(self.headers.get("Authorization"))
        body = json.dumps({"access_token": "fresh", "refresh_token": "r", "expires_in": 1800}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Recorder.seen = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_netrc_naming_the_provider_host_never_replaces_the_bearer_token(netrc, sandbox):
    client = HubSpotClient(sandbox.url, PrivateAppToken(sandbox.token), LocalBudget())
    # With requests' default, the netrc login replaces the bearer header and the sandbox answers 401.
    page = client.get("/crm/v3/objects/contacts", {"limit": 1})
    assert len(page["results"]) == 1


def test_a_netrc_login_reaches_neither_a_webhook_nor_the_token_endpoint(netrc, recorder):
    post_json(f"{recorder}/hook", {"text": "hello"}, ("127.0.0.1",), "The webhook", "CONSOLE_NOTIFY_HOSTS")
    tokens = post_token(recorder, {"grant_type": "refresh_token", "refresh_token": "r"}, "refused")
    assert tokens.access_token == "fresh"
    assert Recorder.seen == [None, None]
