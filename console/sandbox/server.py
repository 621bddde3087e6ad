"""Run the sandbox on a real socket in a background thread (tests, benchmarks, the demo)."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server

from . import drift
from .app import create_sandbox_app
from .state import SandboxConfig, SandboxState
from .validation import forget_defined_properties


class SandboxServer:
    """`with SandboxServer(SandboxConfig(...)) as sb: requests.get(sb.url + ...)`; port 0 = ephemeral."""

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = create_sandbox_app(config)
        self._server = make_server(host, port, self.app, threaded=True)
        self.host, self.port = host, self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> SandboxState:
        return self.app.extensions["sandbox"]

    @property
    def token(self) -> str:
        return self.state.auth.private_token

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; properties created through its API are forgotten (they are the process's schema)."""
        self.state.webhooks.stop()
        forget_defined_properties()
        drift.undo_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
