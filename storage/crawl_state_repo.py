"""The ``crawl_state`` table: per-URL conditional-GET validators and failure counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert

from finsent.storage.schema import CrawlState

__all__ = ["CrawlStateRepository"]


class CrawlStateRepository:
    """Reads and upserts ``crawl_state`` rows by URL; each call is its own short transaction.

    Args:
        engine: Engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, url: str) -> dict[str, Any] | None:
        """The row of ``url`` as a dict of its columns, or None if it was never fetched."""
        with self.engine.connect() as conn:
            row = conn.execute(select(CrawlState).where(CrawlState.url == url)).mappings().first()
        return None if row is None else dict(row)

    def put(self, values: Mapping[str, Any]) -> None:
        """Insert or replace the row of ``values["url"]`` (every other given column is overwritten)."""
        stmt = insert(CrawlState).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CrawlState.url], set_={k: v for k, v in values.items() if k != "url"}
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)
