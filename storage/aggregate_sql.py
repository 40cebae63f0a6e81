"""SQL fragments shared by the recount and the fold of the per-minute aggregates.

Both paths must count by one rule (see :mod:`storage.aggregates`), so they build their
statements from these pieces. Each expects a CTE ``latest(article_id, model_version, topic,
sentiment, score, bucket)``: the newest score of each article in scope.
"""

from __future__ import annotations

__all__ = ["ENTITY_ROWS", "ENTITY_SUMS", "MIN_WEIGHT", "TOPIC_SUMS", "latest_by_buckets", "latest_by_ids"]

#: Below this relevance sum a bucket's weighted mean falls back to the plain mean (float noise).
MIN_WEIGHT = 1e-9

_LATEST = """
latest AS (
    SELECT DISTINCT ON (s.article_id)
           s.article_id, s.model_version, s.topic, s.sentiment, s.score,
           date_trunc('minute', s.published_at, 'UTC') AS bucket
    FROM {source}
    ORDER BY s.article_id, s.scored_at DESC, s.model_version DESC
)"""


def latest_by_buckets() -> str:
    """The ``latest`` CTE over the articles published in the minutes of ``:buckets``."""
    source = (
        "(SELECT DISTINCT unnest(:buckets) AS bucket) AS b JOIN scores s "
        "ON s.published_at >= b.bucket AND s.published_at < b.bucket + interval '1 minute'"
    )
    return _LATEST.format(source=source)


def latest_by_ids() -> str:
    """The ``latest`` CTE over the articles whose ids are in ``:ids``."""
    return _LATEST.format(source="scores s WHERE s.article_id = ANY(:ids)")


#: ``ent(bucket, entity, sentiment, score, relevance)``: one row per (article, entity).
#: Entity scores of the latest version when it wrote any ('document' rows take the article's
#: score); otherwise the article's mentions and tickers with its document score (rows written
#: before entity scoring existed, or by writers that give none).
ENTITY_ROWS = """
ent AS (
    SELECT l.bucket, es.entity,
           CASE WHEN es.source = 'document' THEN l.sentiment ELSE es.sentiment END AS sentiment,
           CASE WHEN es.source = 'document' THEN l.score ELSE es.score END AS score,
           es.relevance
    FROM latest l
    JOIN entity_scores es ON es.article_id = l.article_id AND es.model_version = l.model_version
    UNION ALL
    SELECT l.bucket, m.entity, l.sentiment, l.score, m.relevance
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
    WHERE NOT EXISTS (
        SELECT 1 FROM entity_scores es
        WHERE es.article_id = l.article_id AND es.model_version = l.model_version
    )
)"""

_COUNTS = """
    count(*) AS n,
    count(*) FILTER (WHERE sentiment = 'negative') AS n_negative,
    count(*) FILTER (WHERE sentiment = 'neutral') AS n_neutral,
    count(*) FILTER (WHERE sentiment = 'positive') AS n_positive,
    sum(score) AS sum_score"""

#: Sums of one topic group: n, n_negative, n_neutral, n_positive, sum_score.
TOPIC_SUMS = _COUNTS

#: Sums of one entity group: the counts, then weight_sum, w_negative, w_neutral, w_positive, w_sum_score.
ENTITY_SUMS = (
    _COUNTS
    + """,
    sum(relevance) AS weight_sum,
    COALESCE(sum(relevance) FILTER (WHERE sentiment = 'negative'), 0) AS w_negative,
    COALESCE(sum(relevance) FILTER (WHERE sentiment = 'neutral'), 0) AS w_neutral,
    COALESCE(sum(relevance) FILTER (WHERE sentiment = 'positive'), 0) AS w_positive,
    sum(relevance * score) AS w_sum_score"""
)
