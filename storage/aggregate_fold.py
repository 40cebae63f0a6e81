"""The fold of a batch into the per-minute aggregates: apply only what the batch changed.

:func:`fold_scores` locks the minutes the batch's articles fall in (before and after the write),
sums those articles' contribution to ``agg_topic`` / ``agg_entity`` as they stand, runs the
caller's write, sums it again, and upserts the difference. The cost follows the batch size, not
the fill of the minute (a recount of a full minute reads every article in it); a re-delivered
batch has a zero difference and writes no aggregate row. Counting rules: :mod:`storage.aggregates`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, FLOAT, INTEGER, TEXT, TIMESTAMP

from finsent.storage.aggregate_sql import (
    ENTITY_ROWS,
    ENTITY_SUMS,
    MIN_WEIGHT,
    TOPIC_SUMS,
    latest_by_ids,
)
from finsent.storage.buckets import ALL_TOPICS, LOCK_NAMESPACE

__all__ = ["fold_scores"]

_IDS = bindparam("ids", type_=ARRAY(TEXT))
_TS = ARRAY(TIMESTAMP(timezone=True))
_ZEROS = "0::float8, 0::float8, 0::float8, 0::float8, 0::float8"

# One row per touched (kind, bucket, key): the contribution of the :ids articles as stored now.
_CONTRIB = text(
    f"""
WITH {latest_by_ids()}, {ENTITY_ROWS}
SELECT 'topic' AS kind, bucket,
       (CASE WHEN grouping(topic) = 1 THEN {ALL_TOPICS} ELSE topic END)::text AS key, {TOPIC_SUMS}, {_ZEROS}
FROM latest GROUP BY GROUPING SETS ((bucket, topic), (bucket))
UNION ALL
SELECT 'entity', bucket, entity, {ENTITY_SUMS}
FROM ent GROUP BY bucket, entity
"""
).bindparams(_IDS)

# The bucket locks of the new publication times and of the articles' stored scores, in one round
# trip, in ascending key order (see storage.buckets); the key is minutes since the epoch.
_LOCK = text(
    f"""
SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, k) FROM (
    SELECT DISTINCT k FROM (
        SELECT (floor(extract(epoch FROM t) / 60))::int AS k FROM unnest(:published) AS n(t)
        UNION
        SELECT (floor(extract(epoch FROM s.published_at) / 60))::int
        FROM scores s WHERE s.article_id = ANY(:ids)
    ) AS keys ORDER BY k OFFSET 0
) AS ordered
"""
).bindparams(_IDS, bindparam("published", type_=_TS))

_SUM_COLS = ("n", "n_negative", "n_neutral", "n_positive", "sum_score")
_W_COLS = ("weight_sum", "w_negative", "w_neutral", "w_positive", "w_sum_score")


def _arrays(*names_types: tuple[str, Any]) -> list[Any]:
    return [bindparam(name, type_=ARRAY(t)) for name, t in names_types]


_TOPIC_UPSERT = text(
    """
INSERT INTO agg_topic AS g (bucket, topic, n, n_negative, n_neutral, n_positive, sum_score, mean_score)
SELECT b, k, n, ng, nu, p, s, CASE WHEN n > 0 THEN s / n ELSE 0 END
FROM unnest(:bucket, :key, :n, :n_negative, :n_neutral, :n_positive, :sum_score) AS d(b, k, n, ng, nu, p, s)
ON CONFLICT (bucket, topic) DO UPDATE SET
    n = g.n + EXCLUDED.n, n_negative = g.n_negative + EXCLUDED.n_negative,
    n_neutral = g.n_neutral + EXCLUDED.n_neutral, n_positive = g.n_positive + EXCLUDED.n_positive,
    sum_score = g.sum_score + EXCLUDED.sum_score,
    mean_score = CASE WHEN g.n + EXCLUDED.n > 0 THEN (g.sum_score + EXCLUDED.sum_score) / (g.n + EXCLUDED.n)
                 ELSE 0 END
"""
).bindparams(
    bindparam("bucket", type_=_TS),
    *_arrays(("key", INTEGER), ("n", INTEGER), ("n_negative", INTEGER), ("n_neutral", INTEGER)),
    *_arrays(("n_positive", INTEGER), ("sum_score", FLOAT)),
)

_ENTITY_UPSERT = text(
    f"""
INSERT INTO agg_entity AS g (bucket, entity, n, n_negative, n_neutral, n_positive, sum_score, mean_score,
                             weight_sum, weighted_mean_score, w_negative, w_neutral, w_positive, w_sum_score)
SELECT b, k, n, ng, nu, p, s, CASE WHEN n > 0 THEN s / n ELSE 0 END, w,
       CASE WHEN w > {MIN_WEIGHT} THEN ws / w WHEN n > 0 THEN s / n ELSE 0 END, wng, wnu, wp, ws
FROM unnest(:bucket, :key, :n, :n_negative, :n_neutral, :n_positive, :sum_score,
            :weight_sum, :w_negative, :w_neutral, :w_positive, :w_sum_score)
     AS d(b, k, n, ng, nu, p, s, w, wng, wnu, wp, ws)
ON CONFLICT (bucket, entity) DO UPDATE SET
    n = g.n + EXCLUDED.n, n_negative = g.n_negative + EXCLUDED.n_negative,
    n_neutral = g.n_neutral + EXCLUDED.n_neutral, n_positive = g.n_positive + EXCLUDED.n_positive,
    sum_score = g.sum_score + EXCLUDED.sum_score,
    mean_score = CASE WHEN g.n + EXCLUDED.n > 0 THEN (g.sum_score + EXCLUDED.sum_score) / (g.n + EXCLUDED.n)
                 ELSE 0 END,
    weight_sum = g.weight_sum + EXCLUDED.weight_sum,
    weighted_mean_score = CASE
        WHEN g.weight_sum + EXCLUDED.weight_sum > {MIN_WEIGHT}
            THEN (g.w_sum_score + EXCLUDED.w_sum_score) / (g.weight_sum + EXCLUDED.weight_sum)
        WHEN g.n + EXCLUDED.n > 0 THEN (g.sum_score + EXCLUDED.sum_score) / (g.n + EXCLUDED.n)
        ELSE 0 END,
    w_negative = g.w_negative + EXCLUDED.w_negative, w_neutral = g.w_neutral + EXCLUDED.w_neutral,
    w_positive = g.w_positive + EXCLUDED.w_positive, w_sum_score = g.w_sum_score + EXCLUDED.w_sum_score
"""
).bindparams(
    bindparam("bucket", type_=_TS),
    *_arrays(("key", TEXT), ("n", INTEGER), ("n_negative", INTEGER), ("n_neutral", INTEGER)),
    *_arrays(("n_positive", INTEGER), ("sum_score", FLOAT), ("weight_sum", FLOAT), ("w_negative", FLOAT)),
    *_arrays(("w_neutral", FLOAT), ("w_positive", FLOAT), ("w_sum_score", FLOAT)),
)

# Rows whose last article left (re-scored into another bucket or topic) go, as a recount would.
_PRUNE = text(
    "WITH t AS (DELETE FROM agg_topic WHERE n <= 0 AND bucket = ANY(:buckets) RETURNING 1) "
    "DELETE FROM agg_entity WHERE n <= 0 AND bucket = ANY(:buckets)"
).bindparams(bindparam("buckets", type_=_TS))

Contribution = dict[tuple[str, datetime, str], tuple[float, ...]]


def _contribution(conn: Connection, ids: list[str]) -> Contribution:
    return {(r[0], r[1], r[2]): tuple(float(v) for v in r[3:]) for r in conn.execute(_CONTRIB, {"ids": ids})}


def _difference(old: Contribution, new: Contribution) -> Contribution:
    out: Contribution = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key, (0.0,) * 10), new.get(key, (0.0,) * 10)
        delta = tuple(a - b for a, b in zip(after, before, strict=True))
        if any(abs(d) > 1e-12 for d in delta):
            out[key] = delta
    return out


def _columns(delta: Contribution, kind: str, cols: Sequence[str]) -> dict[str, list[Any]] | None:
    items = sorted((k, v) for k, v in delta.items() if k[0] == kind)  # fixed order: no row-lock deadlock
    if not items:
        return None
    params: dict[str, list[Any]] = {"bucket": [k[1] for k, _ in items]}
    params["key"] = [int(k[2]) if kind == "topic" else k[2] for k, _ in items]
    for i, col in enumerate(cols):
        params[col] = [round(v[i]) if col.startswith("n") else v[i] for _, v in items]
    return params


def _apply(conn: Connection, delta: Contribution) -> None:
    # A row can only empty when an article left it (re-scored into another topic, bucket or set of
    # entities): prune only then, as a recount would not write it.
    leaving = any(v[0] < 0 for v in delta.values())
    topic = _columns(delta, "topic", _SUM_COLS)
    if topic is not None:
        conn.execute(_TOPIC_UPSERT, topic)
    entity = _columns(delta, "entity", (*_SUM_COLS, *_W_COLS))
    if entity is not None:
        conn.execute(_ENTITY_UPSERT, entity)
    if leaving:
        conn.execute(_PRUNE, {"buckets": sorted({k[1] for k in delta})})


def fold_scores(
    conn: Connection, article_ids: Iterable[str], published_at: Iterable[datetime], write: Callable[[], None]
) -> None:
    """Run ``write`` (which stores scores of ``article_ids``) and fold its effect into the aggregates.

    Call inside the transaction of the write. The advisory locks on the minutes of the articles'
    stored and new publication times serialise this with every other writer (fold or recount)
    of those minutes until commit.

    Args:
        conn: connection inside an open transaction.
        article_ids: the articles ``write`` scores (repeats fine).
        published_at: their publication times (the new scores' bucket keys).
        write: stores the scores, entity scores and sentence scores on ``conn``.
    """
    ids = sorted(set(article_ids))
    conn.execute(_LOCK, {"ids": ids, "published": list(published_at)})
    old = _contribution(conn, ids) if ids else {}
    write()
    new = _contribution(conn, ids) if ids else {}
    _apply(conn, _difference(old, new))
