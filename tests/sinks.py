"""Small local HTTP servers that tests start to receive deliveries (webhooks, notifications)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Captured:
    url: str
    headers: dict
    body: bytes


@dataclass
class HttpSink:
    """Records every POST; answers with the next status from `statuses` (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[Captured] = field(default_factory=list)
    delay: float = 0.0  # seconds to hold each request before answering (a slow channel)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        with self._lock:
            self.received.append(Captured(request.url, dict(request.headers), request.get_data()))
            status = self.statuses.pop(0) if self.statuses else 200
        time.sleep(self.delay)
        return Response("ok", status)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Captured]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= n:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {n} deliveries, got {len(self.received)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SmtpSink:
    """A minimal SMTP server on 127.0.0.1 that keeps every message it accepts (enough for smtplib)."""

    def __init__(self) -> None:
        import socketserver

        sink = self
        self.messages: list[bytes] = []
        self.recipients: list[list[str]] = []  # each message's RCPT TO addresses, as smtplib sent them
        self._lock = threading.Lock()

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 sink ready\r\n")
                rcpts: list[str] = []
                while line := self.rfile.readline():
                    verb = line.strip().split(b" ")[0].upper()
                    if verb == b"RCPT":
                        rcpts.append(line.decode().split("<", 1)[1].split(">", 1)[0])
                        self.wfile.write(b"250 ok\r\n")
                    elif verb in (b"EHLO", b"HELO"):
                        self.wfile.write(b"250 sink\r\n")
                    elif verb == b"DATA":
                        self.wfile.write(b"354 end with .\r\n")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk
                        with sink._lock:
                            sink.messages.append(data)
                            sink.recipients.append(rcpts)
                        rcpts = []
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
