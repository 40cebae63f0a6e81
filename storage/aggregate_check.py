"""The aggregates recounted in Python: the reference the stored rows are checked against.

Same counting rules as :mod:`storage.aggregates` (which documents them), written independently of
its SQL so a test or an operator's consistency check compares two implementations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from finsent.storage.buckets import ALL_TOPICS, minute_bucket

__all__ = ["aggregate_mismatches", "expected_aggregates"]

Row = Mapping[str, Any]
_SENTIMENTS = ("negative", "neutral", "positive")


def expected_aggregates(
    scores: Iterable[Row], articles: Mapping[str, Row], entity_scores: Iterable[Row] = ()
) -> tuple[dict[tuple[datetime, int], tuple[float, ...]], dict[tuple[datetime, str], tuple[float, ...]]]:
    """The aggregates recomputed in Python from score, article and entity-score rows.

    Args:
        scores: ``scores`` rows (``article_id``, ``model_version``, ``topic``, ``sentiment``,
            ``score``, ``published_at``, ``scored_at``).
        articles: ``articles`` rows by id (``tickers``, ``entities``).
        entity_scores: ``entity_scores`` rows (``article_id``, ``model_version``, ``entity``,
            ``source``, ``relevance``, ``sentiment``, ``score``).

    Returns:
        ``(topics, entities)``: ``{(bucket, topic): (n, n_negative, n_neutral, n_positive,
        sum_score)}`` and ``{(bucket, entity): (n, n_negative, n_neutral, n_positive, sum_score,
        weight_sum, w_sum_score, w_negative, w_neutral, w_positive)}``.
    """
    latest: dict[str, Row] = {}
    for row in scores:
        seen = latest.get(row["article_id"])
        if seen is None or (row["scored_at"], row["model_version"]) > (
            seen["scored_at"],
            seen["model_version"],
        ):
            latest[row["article_id"]] = row
    by_version: dict[tuple[str, str], list[Row]] = {}
    for es in entity_scores:
        by_version.setdefault((es["article_id"], es["model_version"]), []).append(es)
    topics: dict[tuple[datetime, int], list[float]] = {}
    entities: dict[tuple[datetime, str], list[float]] = {}
    for article_id, row in latest.items():
        bucket = minute_bucket(row["published_at"])
        counts = _counts(row["sentiment"], float(row["score"]))
        for key in ((bucket, int(row["topic"])), (bucket, ALL_TOPICS)):
            _add(topics.setdefault(key, [0.0] * 5), counts)
        own = by_version.get((article_id, row["model_version"]))
        for entity, sentiment, score, relevance in _entity_rows(row, own, articles.get(article_id, {})):
            weighted = tuple(relevance * c for c in _counts(sentiment, score)[1:4])
            acc = entities.setdefault((bucket, entity), [0.0] * 10)
            _add(acc, (*_counts(sentiment, score), relevance, relevance * score, *weighted))
    return (
        {k: tuple(v) for k, v in topics.items()},
        {k: tuple(v) for k, v in entities.items()},
    )


def _entity_rows(latest: Row, own: list[Row] | None, article: Row) -> list[tuple[str, str, float, float]]:
    doc_sentiment, doc_score = latest["sentiment"], float(latest["score"])
    if own:
        return [
            (es["entity"], doc_sentiment, doc_score, float(es["relevance"]))
            if es["source"] == "document"
            else (es["entity"], es["sentiment"], float(es["score"]), float(es["relevance"]))
            for es in own
        ]
    return [(e, doc_sentiment, doc_score, r) for e, r in _mentions(article).items()]


def _counts(sentiment: str, score: float) -> tuple[float, ...]:
    return (1.0, *(float(sentiment == s) for s in _SENTIMENTS), score)


def _add(acc: list[float], values: tuple[float, ...]) -> None:
    for i, value in enumerate(values):
        acc[i] += value


def _mentions(article: Row) -> dict[str, float]:
    found: dict[str, float] = {}
    for mention in article.get("entities") or []:
        ticker = mention.get("ticker") if isinstance(mention, Mapping) else None
        if ticker:
            found[ticker] = max(found.get(ticker, float("-inf")), float(mention.get("relevance", 1.0)))
    for ticker in article.get("tickers") or []:
        if ticker:
            found.setdefault(ticker, 1.0)
    return found


def _rows(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def aggregate_mismatches(db: Connection | Engine, *, tolerance: float = 1e-6) -> list[str]:
    """Compare the stored aggregates with a recount from the score tables (empty = consistent).

    Reads every score; meant for tests and for an operator's consistency check, not hot paths.
    The reads must see one snapshot: given an :class:`~sqlalchemy.Engine` (do so while writers
    run), they share one read-only ``REPEATABLE READ`` transaction. A connection is read as it
    is: on a ``READ COMMITTED`` one, a batch committed between the score and the aggregate
    reads shows up as a mismatch that is not in the data.
    """
    if isinstance(db, Engine):
        snapshot = db.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with snapshot as conn, conn.begin():
            return _mismatches(conn, tolerance)
    return _mismatches(db, tolerance)


def _mismatches(conn: Connection, tolerance: float) -> list[str]:
    scores = _rows(
        conn, "SELECT article_id, model_version, topic, sentiment, score, published_at, scored_at FROM scores"
    )
    ids = sorted({s["article_id"] for s in scores})
    articles = {
        r["id"]: r
        for r in _rows(conn, "SELECT id, tickers, entities FROM articles WHERE id = ANY(:ids)", ids=ids)
    }
    entity_scores = _rows(
        conn,
        "SELECT article_id, model_version, entity, source, relevance, sentiment, score FROM entity_scores",
    )
    want_topics, want_entities = expected_aggregates(scores, articles, entity_scores)
    got_topics = {
        (r["bucket"], r["topic"]): (r["n"], r["n_negative"], r["n_neutral"], r["n_positive"], r["sum_score"])
        for r in _rows(conn, "SELECT * FROM agg_topic")
    }
    entity_cols = ("n", "n_negative", "n_neutral", "n_positive", "sum_score", "weight_sum")
    weighted_cols = ("w_sum_score", "w_negative", "w_neutral", "w_positive")
    got_entities = {
        (r["bucket"], r["entity"]): tuple(r[c] for c in (*entity_cols, *weighted_cols))
        for r in _rows(conn, "SELECT * FROM agg_entity")
    }
    problems = _diff("agg_topic", want_topics, got_topics, tolerance)
    problems += _diff("agg_entity", want_entities, got_entities, tolerance)
    return problems + _mean_problems(conn, tolerance)


def _mean_problems(conn: Connection, tolerance: float) -> list[str]:
    # The stored means must follow from the stored sums (the fold updates them incrementally).
    rows = _rows(
        conn,
        "SELECT 'agg_topic' AS t, bucket, topic::text AS k, mean_score AS got, sum_score / n AS want "
        "FROM agg_topic "
        "UNION ALL SELECT 'agg_entity', bucket, entity, weighted_mean_score, "
        "CASE WHEN weight_sum > 1e-9 THEN w_sum_score / weight_sum ELSE sum_score / n END FROM agg_entity "
        "UNION ALL SELECT 'agg_entity', bucket, entity, mean_score, sum_score / n FROM agg_entity",
    )
    return [
        f"{r['t']} ({r['bucket']}, {r['k']}): mean {r['got']} does not follow from its sums ({r['want']})"
        for r in rows
        if abs(float(r["got"]) - float(r["want"])) > tolerance * max(1.0, abs(float(r["want"])))
    ]


def _diff(
    name: str, want: Mapping[Any, tuple[float, ...]], got: Mapping[Any, tuple[float, ...]], tolerance: float
) -> list[str]:
    problems = []
    for key in sorted(set(want) | set(got), key=str):
        w, g = want.get(key), got.get(key)
        if (
            w is None
            or g is None
            or any(
                abs(float(a) - float(b)) > tolerance * max(1.0, abs(float(a)))
                for a, b in zip(w, g, strict=True)
            )
        ):
            problems.append(f"{name} {key}: expected {w}, stored {g}")
    return problems
