"""The articles behind an alert window: every article of one scope published in ``[start, end)``.

For the page's "click an alert, see its articles" and the API. Each article comes with its current
(latest version's) document score; for an ``entity`` scope also with that entity's own score and
relevance (0..1 and 0-100), from ``entity_scores`` or, for articles scored before entity scoring
existed, from the article's mentions with the document score (``source = 'document'``) -- the
same rows :mod:`storage.aggregates` counts, so the list adds up to the window's aggregates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from finsent.storage.scope_sums import LATEST_SCORES_SQL

__all__ = ["WINDOW_ORDERS", "window_articles"]

# The entity's row of each article: its own entity score, else (no entity rows for the version)
# a document-score row when the article mentions or tags the entity.
_ENTITY_JOIN = """
LEFT JOIN entity_scores es
       ON es.article_id = l.article_id AND es.model_version = l.model_version AND es.entity = :value
CROSS JOIN LATERAL (
    SELECT CASE WHEN es.entity IS NOT NULL THEN es.relevance
                WHEN NOT EXISTS (SELECT 1 FROM entity_scores x
                                 WHERE x.article_id = l.article_id AND x.model_version = l.model_version)
                     AND (:value = ANY(a.tickers) OR EXISTS (
                          SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(a.entities) = 'array'
                                                                  THEN a.entities ELSE '[]'::jsonb END) e
                          WHERE e ->> 'ticker' = :value))
                THEN COALESCE((SELECT max((e ->> 'relevance')::float8)
                               FROM jsonb_array_elements(CASE WHEN jsonb_typeof(a.entities) = 'array'
                                                              THEN a.entities ELSE '[]'::jsonb END) e
                               WHERE e ->> 'ticker' = :value), 1.0)
           END AS relevance
) AS r
"""
_ENTITY_COLS = """,
       CASE WHEN es.entity IS NULL OR es.source = 'document' THEN 'document' ELSE 'entity' END AS e_source,
       r.relevance AS e_relevance,
       CASE WHEN es.entity IS NULL OR es.source = 'document' THEN l.sentiment ELSE es.sentiment END
           AS e_sentiment,
       CAST(:value AS text) AS e_entity,
       CASE WHEN es.entity IS NULL OR es.source = 'document' THEN l.score ELSE es.score END AS e_score,
       CASE WHEN es.entity IS NULL OR es.source = 'document' THEN l.confidence ELSE es.confidence END
           AS e_confidence,
       COALESCE(es.in_title, false) AS e_in_title
"""
_ENTITY_SCORE = "(CASE WHEN es.entity IS NULL OR es.source = 'document' THEN l.score ELSE es.score END)"
_FILTERS = {
    "topic": "l.topic = CAST(:value AS int)",
    "source": "a.source_id = :value",
    "all": "true",
}

#: Orders of :func:`window_articles` (the scope's score: the entity's own for an entity scope).
WINDOW_ORDERS = {
    "recent": "l.ts DESC",
    "negative": "{score} ASC, l.ts DESC",
    "positive": "{score} DESC, l.ts DESC",
    "extreme": "abs({score}) DESC, l.ts DESC",
    "relevance": "{relevance} DESC, l.ts DESC",
}


def window_articles(
    conn: Connection,
    scope_kind: str,
    value: str,
    start: datetime,
    end: datetime,
    *,
    order: str = "recent",
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The articles of one alert scope published in ``[start, end)``, with their scores.

    Args:
        conn: a connection.
        scope_kind: ``entity`` (value: ticker), ``topic`` (topic id), ``source`` (source id) or
            ``all`` (value ignored).
        value: the scope value.
        start: window start (inclusive).
        end: window end (exclusive).
        order: a key of :data:`WINDOW_ORDERS`.
        limit: most articles returned.
        offset: articles skipped (paging).

    Returns:
        Dicts: ``id``, ``title``, ``url``, ``source_id``, ``published_at``, ``model_version``,
        ``topic``, ``topic_label``, ``sentiment``, ``score``, ``confidence`` (the document score)
        and, for an entity scope, ``entity``: ``{entity, source, relevance, relevance_pct,
        sentiment, score, confidence, in_title}``.

    Raises:
        ValueError: unknown ``scope_kind`` or ``order``.
    """
    if scope_kind != "entity" and scope_kind not in _FILTERS:
        raise ValueError(f"unknown scope kind {scope_kind!r}")
    if order not in WINDOW_ORDERS:
        raise ValueError(f"unknown order {order!r} (known: {', '.join(WINDOW_ORDERS)})")
    entity = scope_kind == "entity"
    # Expressions, not the select list's aliases: PostgreSQL takes an alias in ORDER BY only bare,
    # never inside abs(...).
    score, relevance = (_ENTITY_SCORE, "r.relevance") if entity else ("l.score", "1")
    sql = (
        "SELECT a.id, a.title, a.url, a.source_id, l.ts AS published_at, l.model_version, l.topic, "
        "l.topic_label, l.sentiment, l.score, l.confidence"
        + (_ENTITY_COLS if entity else "")
        + f" FROM ({LATEST_SCORES_SQL}) l JOIN articles a ON a.id = l.article_id"
        + (_ENTITY_JOIN if entity else "")
        + " WHERE "
        + ("r.relevance IS NOT NULL" if entity else _FILTERS[scope_kind])
        + f" ORDER BY {WINDOW_ORDERS[order].format(score=score, relevance=relevance)}, a.id"
        + " LIMIT :limit OFFSET :offset"
    )
    params = {"start": start, "end": end, "value": value, "limit": limit, "offset": offset}
    return [_view(dict(r), entity) for r in conn.execute(text(sql), params).mappings()]


def _view(row: dict[str, Any], entity: bool) -> dict[str, Any]:
    keys = ("id", "title", "url", "source_id", "published_at", "model_version", "topic", "topic_label")
    out = {k: row[k] for k in (*keys, "sentiment", "score", "confidence")}
    if entity:
        rel = float(row["e_relevance"])
        out["entity"] = {
            "entity": row["e_entity"],
            "source": row["e_source"],
            "relevance": rel,
            "relevance_pct": round(100 * rel),
            "sentiment": row["e_sentiment"],
            "score": row["e_score"],
            "confidence": row["e_confidence"],
            "in_title": row["e_in_title"],
        }
    return out
