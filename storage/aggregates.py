"""Idempotent per-minute aggregates of scores per topic and per entity.

Aggregates are never blindly incremented. Every write that adds scores updates them in the
*same transaction*, under advisory locks on the minute buckets it touches, in one of two ways
that give the same rows:

* **fold** (the stream sink, :func:`~storage.aggregate_fold.fold_scores`): the batch's articles'
  contribution is read before and after the write and only the difference is applied -- cost in
  proportion to the batch, not to how full the minute is; a re-delivered batch changes nothing;
* **recount** (:func:`refresh_buckets`, :func:`rebuild_all`): the touched minutes are deleted and
  recounted from the ``scores`` table (repair tool, test seeds, other writers).

Counting rules:

* one article counts once per bucket even when several model versions scored it: the *latest*
  score of each article is used (newest ``scored_at``, ties broken by the higher version id) --
  re-scoring history with a new version replaces its counts, entity rows included;
* the bucket is ``published_at`` truncated to the minute, in UTC;
* ``agg_topic`` has one row per (bucket, topic) plus the all-topics row ``topic = -1``;
* ``agg_entity`` has one row per (bucket, entity) from the ``entity_scores`` rows of the
  article's latest version: the entity's own sentiment and score (rows with
  ``source = 'document'`` take the article's document score). Articles whose latest version
  wrote no entity rows count their ``entities`` mentions (relevance from the mention) and any
  ``tickers`` without a mention (relevance 1.0) with the document score.

Relevance weighting of ``agg_entity`` (relevance in [0, 1], how much the story is about the
entity: the headline subject near 1, a passing mention near 0): ``n``, ``n_negative``,
``n_neutral``, ``n_positive``, ``sum_score`` and ``mean_score`` are *unweighted* counts and sums
of the entity-level labels and scores; ``weight_sum`` = sum of relevance; ``w_negative`` /
``w_neutral`` / ``w_positive`` = sum of relevance over the rows with that label (a headline
subject adds about 1, a passing mention little); ``w_sum_score`` = sum of relevance x score;
``weighted_mean_score`` = ``w_sum_score / weight_sum`` (the plain mean when ``weight_sum`` is 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

from finsent.storage.aggregate_check import aggregate_mismatches, expected_aggregates
from finsent.storage.aggregate_fold import fold_scores
from finsent.storage.aggregate_sql import (
    ENTITY_ROWS,
    ENTITY_SUMS,
    MIN_WEIGHT,
    TOPIC_SUMS,
    latest_by_buckets,
)
from finsent.storage.buckets import ALL_TOPICS, LOCK_NAMESPACE, lock_buckets, minute_bucket

__all__ = [
    "ALL_TOPICS",
    "LOCK_NAMESPACE",
    "aggregate_mismatches",
    "expected_aggregates",
    "fold_scores",
    "minute_bucket",
    "rebuild_all",
    "refresh_buckets",
]

_BUCKETS = bindparam("buckets", type_=ARRAY(TIMESTAMP(timezone=True)))

_TOPIC_SQL = text(
    f"""
WITH {latest_by_buckets()}
INSERT INTO agg_topic (bucket, topic, n, n_negative, n_neutral, n_positive, sum_score, mean_score)
SELECT bucket, topic, n, n_negative, n_neutral, n_positive, sum_score, sum_score / n
FROM (
    SELECT bucket, CASE WHEN grouping(topic) = 1 THEN {ALL_TOPICS} ELSE topic END AS topic, {TOPIC_SUMS}
    FROM latest
    GROUP BY GROUPING SETS ((bucket, topic), (bucket))
) AS g
"""
).bindparams(_BUCKETS)

_ENTITY_SQL = text(
    f"""
WITH {latest_by_buckets()}, {ENTITY_ROWS}
INSERT INTO agg_entity (bucket, entity, n, n_negative, n_neutral, n_positive, sum_score, mean_score,
                        weight_sum, weighted_mean_score, w_negative, w_neutral, w_positive, w_sum_score)
SELECT bucket, entity, n, n_negative, n_neutral, n_positive, sum_score, sum_score / n, weight_sum,
       CASE WHEN weight_sum > {MIN_WEIGHT} THEN w_sum_score / weight_sum ELSE sum_score / n END,
       w_negative, w_neutral, w_positive, w_sum_score
FROM (SELECT bucket, entity, {ENTITY_SUMS} FROM ent GROUP BY bucket, entity) AS g
"""
).bindparams(_BUCKETS)

_DELETE_TOPIC = text("DELETE FROM agg_topic WHERE bucket = ANY(:buckets)").bindparams(_BUCKETS)
_DELETE_ENTITY = text("DELETE FROM agg_entity WHERE bucket = ANY(:buckets)").bindparams(_BUCKETS)
_ALL_BUCKETS = text("SELECT DISTINCT date_trunc('minute', published_at, 'UTC') FROM scores")


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
    lock_buckets(conn, buckets)
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
