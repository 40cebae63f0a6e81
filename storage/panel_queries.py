"""Run the dashboards' own SQL texts (Grafana panels) on finsent's database, one by one.

Panel SQL is written in the dashboards stage, not here; this only executes it, so that
``finsent dashboards check`` can report which panels work on the live schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from sqlalchemy import Engine, text

__all__ = ["count_rows_of"]

K = TypeVar("K")


def count_rows_of(engine: Engine, queries: Iterable[tuple[K, str]]) -> Iterator[tuple[K, int | Exception]]:
    """Run each ``(key, sql)`` on one connection; yield its key and row count, or the error.

    A failing query is rolled back and reported, and the next one runs: every broken panel is
    found, not only the first.
    """
    with engine.connect() as conn:
        for key, sql in queries:
            try:
                rows = len(conn.execute(text(sql)).fetchall())
            except Exception as exc:  # any error is the panel's, reported to the caller
                conn.rollback()
                yield key, exc
            else:
                yield key, rows
