"""The API's edges: request size, hostile characters and numbers, error echoes, auth brute force.

- :class:`InputGuard` (ASGI middleware, in front of routing and auth): a body over
  ``api.max_body_bytes`` gets 413 before it is read (``Content-Length``) or as soon as the
  streamed bytes pass the limit (chunked), so an unauthenticated 100 MB POST costs at most the
  limit in memory; a NUL byte in the path, a query parameter or a JSON string, and ``NaN`` /
  ``Infinity`` in a JSON body get 422 naming where (PostgreSQL text cannot hold NUL; NaN is not
  JSON and would poison aggregates).
- :func:`validation_error_handler`: 422 answers that say what is wrong without echoing large
  inputs (FastAPI's default repeats the whole input: a 10 MB body gave a 10 MB answer).
- :class:`AuthFailureLimiter`: after ``api.auth_failures_per_minute`` wrong tokens from one
  client address within a minute, that address gets 429 with ``Retry-After`` until the minute
  has passed.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

__all__ = ["AuthFailureLimiter", "InputGuard", "validation_error_handler"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Inputs longer than this are not repeated in 422 answers.
_ECHO_LIMIT = 120


class _Rejected(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(status)
        self.status, self.detail = status, detail


def _problem(loc: list[str | int], msg: str) -> list[dict[str, Any]]:
    return [{"loc": loc, "msg": msg, "type": "value_error"}]


class InputGuard:
    """ASGI middleware refusing oversized bodies (413) and NUL/NaN inputs (422) before parsing."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_url(scope)
            body = await self._read_body(scope, receive)
            if body and _is_json(scope):
                _check_json(body)
        except _Rejected as rejected:
            response = JSONResponse({"detail": rejected.detail}, status_code=rejected.status)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _Rejected(413, f"request body over {self.max_body_bytes} bytes")
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and declared in (None, "0"):
            return b""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _Rejected(413, f"request body over {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _is_json(scope: Scope) -> bool:
    ctype = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def _check_url(scope: Scope) -> None:
    if "\x00" in scope.get("path", ""):
        raise _Rejected(422, _problem(["path"], "NUL bytes are not allowed"))
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    if "\x00" in query or "%00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                raise _Rejected(
                    422, _problem(["query", name.replace("\x00", "")], "NUL bytes are not allowed")
                )


def _no_constants(name: str) -> Any:
    raise _Rejected(422, _problem(["body"], f"{name} is not a number JSON allows"))


def _check_json(body: bytes) -> None:
    try:
        parsed = json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError):
        return  # not JSON: the route's own parsing answers 422
    _check_strings(parsed, ["body"])


def _check_strings(value: Any, loc: list[str | int]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise _Rejected(422, _problem(loc, "NUL bytes are not allowed"))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, loc)
            _check_strings(item, [*loc, str(key)])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, [*loc, i])


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 listing each problem's location, message and type; short inputs only are echoed."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        item = {k: error[k] for k in ("loc", "msg", "type") if k in error}
        value = error.get("input")
        if isinstance(value, str | int | float | bool) and len(str(value)) <= _ECHO_LIMIT:
            item["input"] = value
        problems.append(item)
    return JSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)


class AuthFailureLimiter:
    """Counts wrong tokens per client address in a sliding minute (bounded memory)."""

    def __init__(
        self, per_minute: int, *, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ):
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: not limited)."""
        with self._lock:
            times = self._recent(client)
            if times is None or len(times) < self.per_minute:
                return 0
            return max(1, int(times[0] + 60 - self._clock()) + 1)

    def failed(self, client: str) -> None:
        """Record one wrong token from ``client``."""
        with self._lock:
            times = self._recent(client)
            if times is None:
                times = self._failures[client] = deque(maxlen=self.per_minute)
                while len(self._failures) > self.max_clients:
                    self._failures.popitem(last=False)
            times.append(self._clock())
            self._failures.move_to_end(client)

    def _recent(self, client: str) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        cutoff = self._clock() - 60
        while times and times[0] < cutoff:
            times.popleft()
        return times
