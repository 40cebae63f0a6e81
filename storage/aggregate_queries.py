"""Read queries of the aggregate endpoints of the HTTP API, and the pipeline's health figures.

Series are re-bucketed from the per-minute aggregate tables; the bucket width, which cannot be a
bound parameter, comes from the :data:`BUCKETS` whitelist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, literal_column, select

from finsent.storage.article_queries import normalise_ticker
from finsent.storage.model_versions import production_version_subquery
from finsent.storage.schema import AggEntity, AggTopic, Alert, Article, DeadLetter, Score

__all__ = ["BUCKETS", "AggregateQuery", "aggregate_series", "pipeline_counts", "read_pipeline_counts"]

#: Bucket widths of ``GET /api/aggregates``: name -> (SQL interval literal, width).
BUCKETS: dict[str, tuple[str, timedelta]] = {
    "1m": ("INTERVAL '1 minute'", timedelta(minutes=1)),
    "5m": ("INTERVAL '5 minutes'", timedelta(minutes=5)),
    "1h": ("INTERVAL '1 hour'", timedelta(hours=1)),
    "1d": ("INTERVAL '1 day'", timedelta(days=1)),
}
_ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"  # a Monday, midnight UTC: buckets align to the clock


@dataclass(frozen=True)
class AggregateQuery:
    """What ``aggregate_series`` returns: scope, optional key, bucket name and the half-open range."""

    scope: str  # topic | entity | all
    bucket: str  # a key of BUCKETS
    start: datetime
    end: datetime
    key: str | None = None
    max_series: int = 20


def aggregate_series(
    conn: Connection,
    query: AggregateQuery,
    topic_labels: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Time series of sentiment and volume re-bucketed from the per-minute aggregate tables.

    ``scope='topic'`` gives one series per topic (or only ``key``, a topic id), ``'entity'`` one per
    entity (only ``key`` if given, else the ``max_series`` busiest in the range), ``'all'`` the
    all-topics series. Each point: ``t`` (bucket start), ``n``, ``n_negative``, ``n_neutral``,
    ``n_positive``, ``mean_score`` (entity: relevance-weighted) and ``negative_share``.

    Raises:
        KeyError: ``query.bucket`` is not a key of :data:`BUCKETS` or ``query.scope`` is unknown.
    """
    interval: Any = literal_column(BUCKETS[query.bucket][0])
    if query.scope == "entity":
        table: Any = AggEntity
        key_col: Any = AggEntity.entity
        mean = func.sum(AggEntity.weighted_mean_score * AggEntity.weight_sum) / func.nullif(
            func.sum(AggEntity.weight_sum), 0
        )
    elif query.scope in ("topic", "all"):
        table, key_col = AggTopic, AggTopic.topic
        mean = func.sum(AggTopic.sum_score) / func.nullif(func.sum(AggTopic.n), 0)
    else:
        raise KeyError(query.scope)
    t = func.date_bin(interval, table.bucket, literal_column(_ORIGIN)).label("t")
    conds = [table.bucket >= query.start, table.bucket < query.end]
    if query.scope == "all":
        conds.append(AggTopic.topic == -1)
    elif query.scope == "topic":
        conds.append(AggTopic.topic >= 0)
        if query.key is not None:
            conds.append(AggTopic.topic == int(query.key))
    elif query.key is not None:
        conds.append(AggEntity.entity == normalise_ticker(query.key))
    else:
        busiest = (
            select(AggEntity.entity)
            .where(*conds)
            .group_by(AggEntity.entity)
            .order_by(func.sum(AggEntity.n).desc(), AggEntity.entity)
            .limit(query.max_series)
        )
        conds.append(AggEntity.entity.in_(busiest.scalar_subquery()))
    stmt = (
        select(
            key_col.label("key"),
            t,
            func.sum(table.n).label("n"),
            func.sum(table.n_negative).label("n_negative"),
            func.sum(table.n_neutral).label("n_neutral"),
            func.sum(table.n_positive).label("n_positive"),
            mean.label("mean_score"),
        )
        .where(*conds)
        .group_by(key_col, literal_column("t"))
        .order_by(key_col, literal_column("t"))
    )
    return _group_series(conn.execute(stmt), query.scope, topic_labels)


def _group_series(rows: Any, scope: str, topic_labels: Sequence[str]) -> list[dict[str, Any]]:
    series: dict[Any, dict[str, Any]] = {}
    for row in rows.mappings():
        key = row["key"]
        if key not in series:
            label = str(key)
            if scope == "all":
                label = "all topics"
            elif scope == "topic" and 0 <= int(key) < len(topic_labels):
                label = topic_labels[int(key)]
            series[key] = {"key": "all" if scope == "all" else str(key), "label": label, "points": []}
        n, n_negative, mean = int(row["n"]), int(row["n_negative"]), row["mean_score"]
        series[key]["points"].append(
            {
                "t": row["t"],
                "n": n,
                "n_negative": n_negative,
                "n_neutral": int(row["n_neutral"]),
                "n_positive": int(row["n_positive"]),
                "mean_score": None if mean is None else float(mean),
                "negative_share": (n_negative / n) if n else None,
            }
        )
    return list(series.values())


def pipeline_counts(conn: Connection) -> dict[str, Any]:
    """Figures for health and metrics: totals, open alerts, dead letters, newest score time."""
    row = conn.execute(
        select(
            select(func.count()).select_from(Article).scalar_subquery().label("articles"),
            select(func.count()).select_from(Score).scalar_subquery().label("scores"),
            select(func.max(Score.scored_at)).scalar_subquery().label("last_scored_at"),
            select(func.count())
            .select_from(Alert)
            .where(Alert.status == "open")
            .scalar_subquery()
            .label("open_alerts"),
            select(func.count()).select_from(DeadLetter).scalar_subquery().label("dead_letters"),
            production_version_subquery().label("production_version"),
        )
    ).one()
    return dict(row._mapping)


def read_pipeline_counts(engine: Engine) -> dict[str, Any]:
    """:func:`pipeline_counts` on a connection of its own (health checks, metrics scrapes).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database is unreachable (callers report it as down).
    """
    with engine.connect() as conn:
        return pipeline_counts(conn)
