"""Per-URL crawl state (conditional-GET validators, failures), in memory or in PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from finsent.storage.crawl_state_repo import CrawlStateRepository

__all__ = ["CrawlStateStore", "MemoryCrawlState", "SqlCrawlState", "UrlState"]


@dataclass(frozen=True)
class UrlState:
    """What finsent remembers about one URL between polls."""

    url: str
    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    last_status: int | None = None
    failures: int = 0
    next_poll_at: datetime | None = None


class CrawlStateStore(Protocol):
    """Where URL states live; the PostgreSQL store survives restarts."""

    def get(self, url: str) -> UrlState | None:
        """The state of a URL, or None if never fetched."""
        ...

    def put(self, state: UrlState) -> None:
        """Save the state of a URL (insert or replace)."""
        ...


class MemoryCrawlState:
    """In-process store (tests, one-off runs without a database)."""

    def __init__(self) -> None:
        self._states: dict[str, UrlState] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> UrlState | None:
        """The state of a URL, or None."""
        with self._lock:
            return self._states.get(url)

    def put(self, state: UrlState) -> None:
        """Save the state of a URL."""
        with self._lock:
            self._states[state.url] = replace(state)


class SqlCrawlState:
    """Store backed by the ``crawl_state`` table.

    Args:
        engine: SQLAlchemy engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._rows = CrawlStateRepository(engine)

    def get(self, url: str) -> UrlState | None:
        """The state of a URL, or None."""
        row = self._rows.get(url)
        if row is None:
            return None
        return UrlState(
            url=row["url"],
            source_id=row["source_id"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            last_fetch_at=row["last_fetch_at"],
            last_status=row["last_status"],
            failures=row["failures"] or 0,
            next_poll_at=row["next_poll_at"],
        )

    def put(self, state: UrlState) -> None:
        """Upsert the state of a URL."""
        values = {
            "url": state.url,
            "source_id": state.source_id,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "last_fetch_at": state.last_fetch_at,
            "last_status": state.last_status,
            "failures": state.failures,
            "next_poll_at": state.next_poll_at,
        }
        self._rows.put(values)
