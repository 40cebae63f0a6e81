"""Idempotent per-minute aggregates of scores per topic and per entity.

The aggregates are never incremented. Every write that adds scores calls :func:`refresh_buckets`
in the *same transaction*: it locks the affected minute buckets and recounts them from the
``scores`` table, so a re-delivered batch, a retry after a crash, or two workers writing the same
minute can never count an article twice.

Counting rules:

* one article counts once per bucket even when several model versions scored it: the *latest*
  score of each article is used (newest ``scored_at``, ties broken by the higher version id);
* the bucket is ``published_at`` truncated to the minute, in UTC;
* ``agg_topic`` has one row per (bucket, topic) plus the all-topics row ``topic = -1``;
* ``agg_entity`` has one row per (bucket, entity); an article's entities are its ``entities``
  mentions (relevance from the mention) plus any ``tickers`` without a mention (relevance 1.0).
  ``weighted_mean_score`` is the relevance-weighted mean of the signed score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER, TIMESTAMP

__all__ = [
    "ALL_TOPICS",
    "LOCK_NAMESPACE",
    "aggregate_mismatches",
    "expected_aggregates",
    "minute_bucket",
    "rebuild_all",
    "refresh_buckets",
]

#: ``agg_topic.topic`` of the row that counts every topic of a bucket.
ALL_TOPICS = -1
#: First key of the two-key advisory locks that serialise recounts of one bucket.
LOCK_NAMESPACE = 0x66730A66  # "fs\nf": any constant no other finsent code uses

_BUCKETS = bindparam("buckets", type_=ARRAY(TIMESTAMP(timezone=True)))
_KEYS = bindparam("keys", type_=ARRAY(INTEGER))

# Lock in ascending key order (the OFFSET 0 subquery keeps the sort before the lock calls), so
# two writers touching overlapping buckets cannot deadlock on each other.
_LOCK_SQL = text(
    "SELECT pg_advisory_xact_lock(:ns, k) FROM "
    "(SELECT k FROM unnest(:keys) AS t(k) ORDER BY k OFFSET 0) AS ordered"
).bindparams(_KEYS)

# The latest score of each article published in one of the buckets.
_LATEST = """
WITH b AS (SELECT DISTINCT unnest(:buckets) AS bucket),
latest AS (
    SELECT DISTINCT ON (s.article_id)
           s.article_id, s.topic, s.sentiment, s.score, b.bucket
    FROM b
    JOIN scores s ON s.published_at >= b.bucket AND s.published_at < b.bucket + interval '1 minute'
    ORDER BY s.article_id, s.scored_at DESC, s.model_version DESC
)
"""

_COUNTS = """
    count(*),
    count(*) FILTER (WHERE sentiment = 'negative'),
    count(*) FILTER (WHERE sentiment = 'neutral'),
    count(*) FILTER (WHERE sentiment = 'positive'),
    sum(score),
    avg(score)
"""

_TOPIC_SQL = text(
    _LATEST
    + f"""
INSERT INTO agg_topic (bucket, topic, n, n_negative, n_neutral, n_positive, sum_score, mean_score)
SELECT bucket, CASE WHEN grouping(topic) = 1 THEN {ALL_TOPICS} ELSE topic END, {_COUNTS}
FROM latest
GROUP BY GROUPING SETS ((bucket, topic), (bucket))
"""
).bindparams(_BUCKETS)

_ENTITY_SQL = text(
    _LATEST
    + f""",
mentions AS (
    SELECT l.bucket, l.sentiment, l.score, m.entity, m.relevance
    FROM latest l
    JOIN articles a ON a.id = l.article_id
    CROSS JOIN LATERAL (
        SELECT x.entity, COALESCE(max(x.rel) FILTER (WHERE x.from_mention), 1.0) AS relevance
        FROM (
            SELECT e ->> 'ticker' AS entity, (e ->> 'relevance')::float8 AS rel, true AS from_mention
            FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(a.entities) = 'array' THEN a.entities ELSE '[]'::jsonb END
            ) AS e
            UNION ALL
            SELECT t, NULL, false FROM unnest(a.tickers) AS t
        ) AS x
        WHERE x.entity IS NOT NULL AND x.entity <> ''
        GROUP BY x.entity
    ) AS m
)
INSERT INTO agg_entity (bucket, entity, n, n_negative, n_neutral, n_positive, sum_score, mean_score,
                        weight_sum, weighted_mean_score)
SELECT bucket, entity, {_COUNTS},
       sum(relevance),
       CASE WHEN sum(relevance) > 0 THEN sum(relevance * score) / sum(relevance) ELSE avg(score) END
FROM mentions
GROUP BY bucket, entity
"""
).bindparams(_BUCKETS)

_DELETE_TOPIC = text("DELETE FROM agg_topic WHERE bucket = ANY(:buckets)").bindparams(_BUCKETS)
_DELETE_ENTITY = text("DELETE FROM agg_entity WHERE bucket = ANY(:buckets)").bindparams(_BUCKETS)
_ALL_BUCKETS = text("SELECT DISTINCT date_trunc('minute', published_at, 'UTC') FROM scores")


def minute_bucket(ts: datetime) -> datetime:
    """The UTC minute ``ts`` falls in (the aggregate bucket key).

    Raises:
        ValueError: ``ts`` has no time zone (an ambiguous instant cannot be bucketed).
    """
    if ts.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


def _lock_key(bucket: datetime) -> int:
    # Minutes since the epoch fit a 32-bit advisory-lock key until the year 6053.
    return int((bucket - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(minutes=1))


def refresh_buckets(conn: Connection, published_at: Iterable[datetime]) -> list[datetime]:
    """Recount the topic and entity aggregates of the minutes ``published_at`` falls in.

    Call inside the transaction that wrote the scores (``conn`` must be in a transaction): the
    recount then sees those scores, and the advisory locks taken here (released at commit) make
    concurrent writers of the same bucket recount one after the other, each seeing the other's
    committed rows.

    Args:
        conn: connection inside an open transaction.
        published_at: publication times of the articles just scored (any order, repeats fine).

    Returns:
        The buckets recounted, ascending.
    """
    buckets = sorted({minute_bucket(ts) for ts in published_at})
    if not buckets:
        return []
    conn.execute(_LOCK_SQL, {"ns": LOCK_NAMESPACE, "keys": [_lock_key(b) for b in buckets]})
    params = {"buckets": buckets}
    conn.execute(_DELETE_TOPIC, params)
    conn.execute(_DELETE_ENTITY, params)
    conn.execute(_TOPIC_SQL, params)
    conn.execute(_ENTITY_SQL, params)
    return buckets


def rebuild_all(conn: Connection, *, chunk: int = 500) -> int:
    """Recount every bucket that has scores (repair tool; idempotent).

    Args:
        conn: connection inside an open transaction.
        chunk: buckets recounted per statement.

    Returns:
        The number of buckets recounted.
    """
    buckets = [row[0] for row in conn.execute(_ALL_BUCKETS)]
    conn.execute(text("DELETE FROM agg_topic"))
    conn.execute(text("DELETE FROM agg_entity"))
    for i in range(0, len(buckets), chunk):
        refresh_buckets(conn, buckets[i : i + chunk])
    return len(buckets)


def expected_aggregates(
    scores: Iterable[Mapping[str, Any]], articles: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[tuple[datetime, int], tuple[float, ...]], dict[tuple[datetime, str], tuple[float, ...]]]:
    """The aggregates recomputed in Python from score and article rows (reference for checks).

    Args:
        scores: ``scores`` rows (``article_id``, ``model_version``, ``topic``, ``sentiment``,
            ``score``, ``published_at``, ``scored_at``).
        articles: ``articles`` rows by id (``tickers``, ``entities``).

    Returns:
        ``(topics, entities)``: ``{(bucket, topic): (n, n_negative, n_neutral, n_positive,
        sum_score)}`` and ``{(bucket, entity): (n, n_negative, n_neutral, n_positive, sum_score,
        weight_sum, weighted_sum)}``.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for row in scores:
        seen = latest.get(row["article_id"])
        if seen is None or (row["scored_at"], row["model_version"]) > (
            seen["scored_at"],
            seen["model_version"],
        ):
            latest[row["article_id"]] = row
    topics: dict[tuple[datetime, int], list[float]] = {}
    entities: dict[tuple[datetime, str], list[float]] = {}
    for article_id, row in latest.items():
        bucket = minute_bucket(row["published_at"])
        counts = _counts(row)
        for key in ((bucket, int(row["topic"])), (bucket, ALL_TOPICS)):
            _add(topics.setdefault(key, [0.0] * 5), counts)
        for entity, relevance in _mentions(articles.get(article_id, {})).items():
            acc = entities.setdefault((bucket, entity), [0.0] * 7)
            _add(acc, (*counts, relevance, relevance * float(row["score"])))
    return (
        {k: tuple(v) for k, v in topics.items()},
        {k: tuple(v) for k, v in entities.items()},
    )


def _counts(row: Mapping[str, Any]) -> tuple[float, ...]:
    sentiment = row["sentiment"]
    return (
        1.0,
        float(sentiment == "negative"),
        float(sentiment == "neutral"),
        float(sentiment == "positive"),
        float(row["score"]),
    )


def _add(acc: list[float], values: tuple[float, ...]) -> None:
    for i, value in enumerate(values):
        acc[i] += value


def _mentions(article: Mapping[str, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    for mention in article.get("entities") or []:
        ticker = mention.get("ticker") if isinstance(mention, Mapping) else None
        if ticker:
            found[ticker] = max(found.get(ticker, float("-inf")), float(mention.get("relevance", 1.0)))
    for ticker in article.get("tickers") or []:
        if ticker:
            found.setdefault(ticker, 1.0)
    return found


def aggregate_mismatches(conn: Connection, *, tolerance: float = 1e-6) -> list[str]:
    """Compare the stored aggregates with a recount from the ``scores`` table (empty = consistent).

    Reads every score; meant for tests and for an operator's consistency check, not hot paths.
    """
    scores = [
        dict(r._mapping)
        for r in conn.execute(
            text(
                "SELECT article_id, model_version, topic, sentiment, score, published_at, scored_at "
                "FROM scores"
            )
        )
    ]
    ids = sorted({s["article_id"] for s in scores})
    articles = {
        r.id: {"tickers": r.tickers, "entities": r.entities}
        for r in conn.execute(
            text("SELECT id, tickers, entities FROM articles WHERE id = ANY(:ids)"), {"ids": ids}
        )
    }
    want_topics, want_entities = expected_aggregates(scores, articles)
    got_topics = {
        (r.bucket, r.topic): (r.n, r.n_negative, r.n_neutral, r.n_positive, r.sum_score)
        for r in conn.execute(text("SELECT * FROM agg_topic"))
    }
    got_entities = {
        (r.bucket, r.entity): (
            r.n,
            r.n_negative,
            r.n_neutral,
            r.n_positive,
            r.sum_score,
            r.weight_sum,
            r.weighted_mean_score * r.weight_sum,
        )
        for r in conn.execute(text("SELECT * FROM agg_entity"))
    }
    return _diff("agg_topic", want_topics, got_topics, tolerance) + _diff(
        "agg_entity", want_entities, got_entities, tolerance
    )


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
