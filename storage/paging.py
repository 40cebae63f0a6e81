"""Pages of API listings: the page itself and the total count behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select

__all__ = ["Page", "count_rows"]


@dataclass(frozen=True)
class Page:
    """One page of a listing (items are plain dicts or typed payloads)."""

    items: list[Any]
    total: int
    limit: int
    offset: int


def count_rows(conn: Connection, stmt: Select[Any]) -> int:
    """How many rows ``stmt`` selects without its ``LIMIT``/``ORDER BY`` page."""
    return int(conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())
