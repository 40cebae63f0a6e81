"""The ``sources`` table: the configured news sources, as the dashboards list them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert

from finsent.storage.schema import Source

__all__ = ["upsert_sources"]


def upsert_sources(engine: Engine, *, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or refresh sources by id (``kind``, ``url``, ``name`` and ``config`` are overwritten).

    Args:
        engine: Engine on the finsent database.
        rows: Dicts with ``id``, ``kind``, ``url``, ``name`` and ``config`` (JSON-able).
    """
    if not rows:
        return
    stmt = insert(Source).values([dict(r) for r in rows])
    stmt = stmt.on_conflict_do_update(
        index_elements=[Source.id],
        set_={
            "kind": stmt.excluded.kind,
            "url": stmt.excluded.url,
            "name": stmt.excluded.name,
            "config": stmt.excluded.config,
        },
    )
    with engine.begin() as conn:
        conn.execute(stmt)
