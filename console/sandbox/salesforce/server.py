"""Run the Salesforce sandbox on a real socket in a background thread (tests, benchmarks, the demo);
over https with a self-signed certificate when `tls` names a folder for it."""
from __future__ import annotations

import threading
from pathlib import Path

from werkzeug.serving import make_server

from .app import create_salesforce_app
from .state import Org, OrgConfig
from .tls import self_signed


class SalesforceSandbox:
    """`with SalesforceSandbox(OrgConfig(...)) as sf: requests.get(sf.url + ...)`; port 0 = ephemeral."""

    def __init__(self, config: OrgConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 tls: Path | None = None) -> None:
        self.app = create_salesforce_app(config)
        self.certificate: Path | None = None
        context = None
        if tls is not None:
            self.certificate, context = self_signed(tls)
        self._server = make_server(host, port, self.app, threaded=True, ssl_context=context)
        self.host, self.port = host, self._server.server_port
        self.scheme = "https" if context else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, name="salesforce-sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def org(self) -> Org:
        return self.app.extensions["salesforce"]

    def token(self) -> str:
        """A session for the org's integration user (as a login would give)."""
        with self.org.lock:
            return self.org.issue(self.org.integration_user)

    def start(self) -> SalesforceSandbox:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SalesforceSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
