"""A real news server on 127.0.0.1 for the ingest tests (RSS, Atom, HTML pages, a JSON API, robots.txt)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROBOTS = "User-agent: *\nDisallow: /private/\n\nUser-agent: badbot\nDisallow: /\n"


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0
    fail_first: int = 0  # answer 503 to the first N requests
    chunked: bool = False
    location: str | None = None  # redirect target (with a 3xx status)
    served: int = field(default=0)


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    status: int


class NewsServer:
    """Threaded HTTP server with a mutable route table; records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {"/robots.txt": Route(ROBOTS.encode(), "text/plain")}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, path: str, body: str | bytes, **kwargs: Any) -> Route:
        route = Route(body.encode() if isinstance(body, str) else body, **kwargs)
        self.routes[path] = route
        return route

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        route = self.routes.get(path.split("?", 1)[0])
        status = self._status(request, route)
        with self._lock:
            self.hits.append(Hit(path, {k.lower(): v for k, v in request.headers.items()}, status))
        if route is not None and route.delay_s:
            time.sleep(route.delay_s)
        try:
            request.send_response(status)
            if route is not None and route.location:
                request.send_header("Location", route.location)
            if route is not None and status in (200, 304):
                if route.etag:
                    request.send_header("ETag", route.etag)
                if route.last_modified:
                    request.send_header("Last-Modified", route.last_modified)
            body = route.body if route is not None and status == 200 else b""
            request.send_header("Content-Type", route.content_type if route else "text/plain")
            if route is not None and route.chunked and status == 200:
                request.send_header("Transfer-Encoding", "chunked")
                request.end_headers()
                for start in range(0, len(body), 65536):
                    chunk = body[start : start + 65536]
                    request.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                request.wfile.write(b"0\r\n\r\n")
                return
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            if status != 304:
                request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts, body limits): expected in these tests

    @staticmethod
    def _status(request: BaseHTTPRequestHandler, route: Route | None) -> int:
        if route is None:
            return 404
        route.served += 1
        if route.served <= route.fail_first:
            return 503
        if route.status != 200:
            return route.status
        if route.etag and request.headers.get("If-None-Match") == route.etag:
            return 304
        if route.last_modified and request.headers.get("If-Modified-Since") == route.last_modified:
            return 304
        return 200

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
