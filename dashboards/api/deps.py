"""Request dependencies shared by the routers: auth, database connections, time ranges."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from finsent.core.netguard import AddressPolicy
from finsent.dashboards.api.guards import AuthFailureLimiter
from finsent.storage.db import transaction

__all__ = [
    "ApiState",
    "Conn",
    "TimeRange",
    "WriteAuth",
    "field_error",
    "get_conn",
    "get_state",
    "require_token",
    "time_range",
    "to_utc",
]

_bearer = HTTPBearer(auto_error=False, description="FINSENT_API__TOKEN")


@dataclass
class ApiState:
    """What every request handler may use: settings-derived values and shared resources."""

    engine: Engine
    api_token: str
    kafka_bootstrap: str | None
    broker_probe: Any  # Callable[[str], bool]
    topic_labels: tuple[str, ...]
    protect_reads: bool = False
    webhook_guard: AddressPolicy = field(default_factory=AddressPolicy.for_webhooks)
    auth_limiter: AuthFailureLimiter = field(default_factory=lambda: AuthFailureLimiter(20))


def get_state(request: Request) -> ApiState:
    """The :class:`ApiState` the app was created with."""
    state: ApiState = request.app.state.finsent
    return state


def require_token(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Reject the request with 401 unless it carries ``Authorization: Bearer <api_token>``.

    A client address that sent too many wrong tokens in the last minute gets 429 (with
    ``Retry-After``) without its token being looked at.
    """
    state = get_state(request)
    client = request.client.host if request.client is not None else "unknown"
    wait = state.auth_limiter.retry_after(client)
    if wait:
        raise HTTPException(
            status_code=429,
            detail="too many failed authentications from this address; try again later",
            headers={"Retry-After": str(wait)},
        )
    expected = state.api_token.encode()
    given = b"" if creds is None else creds.credentials.encode()
    if creds is None or not secrets.compare_digest(given, expected):
        if creds is not None:  # a missing header is a mistake, a wrong token a guess
            state.auth_limiter.failed(client)
        raise HTTPException(
            status_code=401,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def optional_read_token(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Like :func:`require_token`, but only when the app protects read endpoints too."""
    if get_state(request).protect_reads:
        require_token(request, creds)


WriteAuth = Depends(require_token)
ReadAuth = Depends(optional_read_token)


def get_conn(request: Request) -> Iterator[Connection]:
    """A connection for one request (a transaction that commits when the handler returns).

    Storage's unit of work (:func:`finsent.storage.db.transaction`): the routes hand it to the
    storage query functions and never run statements themselves.
    """
    with transaction(get_state(request).engine) as conn:
        yield conn


Conn = Annotated[Connection, Depends(get_conn)]


def field_error(where: str, field: str, message: str) -> RequestValidationError:
    """A 422 naming ``field`` (``where`` is ``query``, ``path`` or ``body``), like FastAPI's own."""
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value_error"}])


def to_utc(value: datetime | None) -> datetime | None:
    """Naive datetimes are read as UTC; aware ones are converted."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """A half-open ``[start, end)`` range; either end may be open."""

    start: datetime | None
    end: datetime | None

    def closed(self, default_span: timedelta) -> tuple[datetime, datetime]:
        """Both ends, defaulting ``end`` to now and ``start`` to ``end - default_span``."""
        end = self.end or datetime.now(UTC)
        return (self.start or end - default_span), end


def time_range(
    start: Annotated[datetime | None, Query(description="Inclusive start, ISO 8601 (naive = UTC).")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive end, ISO 8601 (naive = UTC).")] = None,
) -> TimeRange:
    """Parse and check ``start``/``end`` query parameters (422 naming ``end`` if it is not after start)."""
    s, e = to_utc(start), to_utc(end)
    if s is not None and e is not None and e <= s:
        raise field_error("query", "end", "end must be after start")
    return TimeRange(s, e)


Range = Annotated[TimeRange, Depends(time_range)]
