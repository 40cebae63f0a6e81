"""Sums of the per-minute aggregates per alert scope, and the articles behind them.

What the rule engine reads. Scope kinds: ``topic`` (value: topic id as text), ``entity``
(ticker; counts and score sums are relevance-weighted: ``weight_sum``, ``w_negative``, ... of
``agg_entity``, so the entity-level sentiment of a passing mention weighs little), ``source``
(source id) and ``all`` (value ``*``). Topic/entity/all read the per-minute
aggregate tables; ``source`` has no aggregate table yet and sums the latest score of each article
in the span (bounded by the ``published_at`` index). Plain data in and out, so ``storage`` knows
nothing of the alert rules.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

__all__ = [
    "COUNT_KEYS",
    "LATEST_SCORES_SQL",
    "SCOPE_KINDS",
    "ScopeSums",
    "scope_series",
    "scope_totals",
    "top_articles",
]

SCOPE_KINDS = ("topic", "entity", "source", "all")
COUNT_KEYS = ("n", "n_negative", "n_neutral", "n_positive", "sum_score")

#: Each article's current score (its latest version) among those published in [:start, :end).
LATEST_SCORES_SQL = """
    SELECT DISTINCT ON (s.article_id) s.article_id, s.model_version, s.published_at AS ts, s.topic,
           s.topic_label, s.sentiment, s.score, s.confidence
    FROM scores s
    WHERE s.published_at >= :start AND s.published_at < :end
    ORDER BY s.article_id, s.scored_at DESC, s.model_version DESC
"""

# Per scope kind: rows of (v, ts, n, n_negative, n_neutral, n_positive, sum_score) in [start, end).
_BASE = {
    "topic": "SELECT topic::text AS v, bucket AS ts, n, n_negative, n_neutral, n_positive, sum_score "
    "FROM agg_topic WHERE bucket >= :start AND bucket < :end AND topic >= 0",
    "all": "SELECT '*'::text AS v, bucket AS ts, n, n_negative, n_neutral, n_positive, sum_score "
    "FROM agg_topic WHERE bucket >= :start AND bucket < :end AND topic = -1",
    # relevance-weighted (storage.aggregates): a passing mention counts as its relevance, not as 1
    "entity": "SELECT entity::text AS v, bucket AS ts, weight_sum AS n, w_negative AS n_negative, "
    "w_neutral AS n_neutral, w_positive AS n_positive, w_sum_score AS sum_score "
    "FROM agg_entity WHERE bucket >= :start AND bucket < :end",
    "source": "SELECT a.source_id::text AS v, l.ts, 1 AS n, (l.sentiment = 'negative')::int AS n_negative, "
    "(l.sentiment = 'neutral')::int AS n_neutral, (l.sentiment = 'positive')::int AS n_positive, "
    f"l.score AS sum_score FROM ({LATEST_SCORES_SQL}) l JOIN articles a ON a.id = l.article_id "
    "WHERE a.source_id IS NOT NULL",
}
# float sums: entity counts are sums of relevance (other scopes sum whole articles)
_SUMS = (
    "sum(n)::float8, sum(n_negative)::float8, sum(n_neutral)::float8, sum(n_positive)::float8, "
    "sum(sum_score)::float8"
)


def _base(scope_kind: str, values: Collection[str] | None) -> tuple[str, dict[str, Any]]:
    if scope_kind not in _BASE:
        raise ValueError(f"unknown scope kind {scope_kind!r} (known: {', '.join(SCOPE_KINDS)})")
    sql = f"SELECT * FROM ({_BASE[scope_kind]}) AS base"
    params: dict[str, Any] = {}
    if values is not None:
        sql += " WHERE v = ANY(:values)"
        params["values"] = list(values)
    return sql, params


def _counts(row: Any, offset: int) -> dict[str, float]:
    return {k: (row[offset + i] or 0) for i, k in enumerate(COUNT_KEYS)}


def scope_totals(
    conn: Connection, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None = None
) -> dict[str, dict[str, float]]:
    """Sums of n / n_negative / n_neutral / n_positive / sum_score per scope value over ``[start, end)``.

    Values without any article in the span are absent. ``values`` restricts to those scope values.
    """
    base, params = _base(scope_kind, values)
    stmt = text(f"SELECT v, {_SUMS} FROM ({base}) AS b GROUP BY v")
    rows = conn.execute(stmt, {"start": start, "end": end, **params})
    return {row[0]: _counts(row, 1) for row in rows}


def scope_series(
    conn: Connection,
    scope_kind: str,
    start: datetime,
    width: timedelta,
    count: int,
    values: Collection[str],
) -> dict[str, dict[int, dict[str, float]]]:
    """Sums per scope value per window ``i`` = ``[start + i*width, start + (i+1)*width)``, i < count.

    Empty windows are absent (callers treat them as zero).
    """
    base, params = _base(scope_kind, values)
    stmt = text(
        f"SELECT v, floor(extract(epoch FROM ts - :start) / :width)::int AS i, {_SUMS} "
        f"FROM ({base}) AS b GROUP BY v, i"
    )
    args = {"start": start, "end": start + count * width, "width": width.total_seconds(), **params}
    out: dict[str, dict[int, dict[str, float]]] = {}
    for row in conn.execute(stmt, args):
        out.setdefault(row[0], {})[int(row[1])] = _counts(row, 2)
    return out


_ORDER = {"negative": "l.score ASC", "positive": "l.score DESC", "extreme": "abs(l.score) DESC"}
_SCOPE_FILTER = {
    "topic": "l.topic = CAST(:value AS int)",
    "entity": "(:value = ANY(a.tickers) OR a.entities @> jsonb_build_array(jsonb_build_object('ticker', "
    "CAST(:value AS text))))",
    "source": "a.source_id = :value",
    "all": "true",
}


def top_articles(
    conn: Connection,
    scope_kind: str,
    value: str,
    start: datetime,
    end: datetime,
    *,
    order: str = "negative",
    limit: int = 5,
) -> list[dict[str, Any]]:
    """The articles of one scope in ``[start, end)`` that contributed most (by latest score).

    ``order``: ``negative`` (most negative first), ``positive``, or ``extreme`` (largest |score|).
    Returns dicts with id, title, url, source_id, published_at (ISO), sentiment and score.
    """
    stmt = text(
        f"SELECT a.id, a.title, a.url, a.source_id, l.ts, l.sentiment, l.score "
        f"FROM ({LATEST_SCORES_SQL}) l JOIN articles a ON a.id = l.article_id "
        f"WHERE {_SCOPE_FILTER[scope_kind]} ORDER BY {_ORDER[order]}, l.ts DESC LIMIT :limit"
    )
    rows = conn.execute(stmt, {"start": start, "end": end, "value": value, "limit": limit})
    keys = ("id", "title", "url", "source_id", "published_at", "sentiment", "score")
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in zip(keys, row, strict=True)}
        for row in rows
    ]


class ScopeSums:
    """The engine-level reader of :func:`scope_totals`, :func:`scope_series` and :func:`top_articles`.

    Each call is one short read on its own connection.

    Args:
        engine: Engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def totals(
        self, *, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """Sums per scope value over ``[start, end)`` (see :func:`scope_totals`)."""
        with self.engine.connect() as conn:
            return scope_totals(conn, scope_kind, start, end, values)

    def series(
        self, *, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, dict[int, dict[str, float]]]:
        """Sums per scope value per window (see :func:`scope_series`)."""
        with self.engine.connect() as conn:
            return scope_series(conn, scope_kind, start, width, count, values)

    def top_articles(
        self, *, scope_kind: str, value: str, start: datetime, end: datetime, order: str, limit: int
    ) -> list[dict[str, Any]]:
        """The window's most contributing articles of one scope (see :func:`top_articles`)."""
        with self.engine.connect() as conn:
            return top_articles(conn, scope_kind, value, start, end, order=order, limit=limit)
