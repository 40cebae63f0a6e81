"""A reference webhook receiver on 127.0.0.1 (tests, `finsent alerts test-webhook` trials).

It verifies each request with :func:`alerts.signing.verify_signature`, records it, and answers
with the next status code of a script (then ``default_status``), so tests can play a receiver
that fails, recovers or is down.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from finsent.alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

__all__ = ["ReceivedRequest", "WebhookReceiver"]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """HTTP server on an ephemeral 127.0.0.1 port; use as a context manager."""

    secret: str = "s3cret"
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    delay_s: float = 0.0
    #: Sent as ``Location`` with every answer (a 3xx script plays a redirecting receiver).
    location: str | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script = deque(self.script)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                headers = {k: v for k, v in self.headers.items()}
                ok = verify_signature(
                    receiver.secret, headers.get(TIMESTAMP_HEADER), body, headers.get(SIGNATURE_HEADER)
                )
                with receiver._lock:
                    status = receiver._script.popleft() if receiver._script else receiver.default_status
                    receiver.requests.append(ReceivedRequest(headers, body, status, ok))
                self.send_response(status)
                if receiver.location is not None:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The URL to subscribe."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
