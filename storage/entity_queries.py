"""Read queries of the entity view (``GET /api/entities/{ticker}``, the live page's ticker view).

An entity's figures come from the per-minute ``agg_entity`` table (relevance-weighted
entity-level sentiment, volume) and its latest articles from ``articles`` with, per article, the
score shown for it (the same "newest score" rule as the listing and the charts) and the entity's
own score and relevance from ``entity_scores`` of that model version (falling back to the
article's mentions and score where no entity row exists). Tickers reach PostgreSQL as bound
parameters only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Float, exists, func, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from finsent.storage.article_queries import normalise_ticker
from finsent.storage.schema import AggEntity, Article, EntityScore, Score

__all__ = ["entity_name", "entity_seen", "entity_summary", "latest_entity_articles"]

_DOC_KEYS = ("model_version", "sentiment", "score", "confidence", "sentiment_probs", "scored_at")


def entity_seen(conn: Connection, ticker: str) -> bool:
    """Whether any stored article or aggregate names ``ticker`` (``$aapl`` reads as ``AAPL``)."""
    key = normalise_ticker(ticker)
    in_aggs = exists().where(AggEntity.entity == key)
    in_articles = exists().where(Article.tickers.contains([key]))
    return bool(conn.execute(select(or_(in_aggs, in_articles))).scalar_one())


def entity_name(conn: Connection, ticker: str) -> str | None:
    """The company name the newest article mentioning ``ticker`` gives it, if any."""
    key = normalise_ticker(ticker)
    mention = func.jsonb_array_elements(Article.entities, type_=JSONB).column_valued("m")
    name = (
        select(mention["name"].astext)
        .where(mention["ticker"].astext == key, mention["name"].astext.is_not(None))
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(name)
        .where(Article.tickers.contains([key]), name.is_not(None))
        .order_by(Article.published_at.desc())
        .limit(1)
    )
    value = conn.execute(stmt).scalar()
    return None if value is None else str(value)


def entity_summary(conn: Connection, ticker: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Totals of ``[start, end)`` for one entity.

    Returns:
        ``n``, ``n_negative``, ``n_neutral``, ``n_positive``, ``relevance_sum`` (sum of the
        articles' relevance to the entity, 0..n) and ``weighted_score`` (relevance-weighted mean
        signed score, ``None`` without articles).
    """
    key = normalise_ticker(ticker)
    weighted = func.sum(AggEntity.weighted_mean_score * AggEntity.weight_sum) / func.nullif(
        func.sum(AggEntity.weight_sum), 0
    )
    row = conn.execute(
        select(
            func.coalesce(func.sum(AggEntity.n), 0).label("n"),
            func.coalesce(func.sum(AggEntity.n_negative), 0).label("n_negative"),
            func.coalesce(func.sum(AggEntity.n_neutral), 0).label("n_neutral"),
            func.coalesce(func.sum(AggEntity.n_positive), 0).label("n_positive"),
            func.coalesce(func.sum(AggEntity.weight_sum), 0.0).label("relevance_sum"),
            weighted.label("weighted_score"),
        ).where(AggEntity.entity == key, AggEntity.bucket >= start, AggEntity.bucket < end)
    ).one()
    out = dict(row._mapping)
    for name in ("n", "n_negative", "n_neutral", "n_positive"):
        out[name] = int(out[name])
    out["relevance_sum"] = float(out["relevance_sum"])
    out["weighted_score"] = None if out["weighted_score"] is None else float(out["weighted_score"])
    return out


def _relevance(key: str) -> Any:
    """Scalar subquery: the article's relevance to ``key`` from its ``entities`` mentions."""
    mention = func.jsonb_array_elements(Article.entities, type_=JSONB).column_valued("m")
    return (
        select(mention["relevance"].astext.cast(Float))
        .where(mention["ticker"].astext == key)
        .limit(1)
        .scalar_subquery()
    )


def latest_entity_articles(
    conn: Connection, ticker: str, start: datetime, end: datetime, *, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest articles naming ``ticker`` published in ``[start, end)``, newest first.

    Each row: ``id``, ``title``, ``url``, ``source_id``, ``published_at``, ``tickers``,
    ``relevance`` (0..1; 1.0 for a ticker without a mention record, as the aggregates count it),
    ``entity`` (the entity's own score: ``sentiment``, ``score``, ``confidence``,
    ``sentiment_probs``, ``model_version`` and ``source`` -- ``'document'`` while the article's
    document score stands in for it) and ``document`` (the article's current score), the last two
    ``None`` for an article not scored yet.
    """
    key = normalise_ticker(ticker)
    cur = (
        select(Score)
        .where(Score.article_id == Article.id)
        .order_by(Score.scored_at.desc(), Score.model_version.desc())
        .limit(1)
        .lateral("cur")
    )
    # The entity's own score from the same model version as the document score shown.
    own = (
        select(EntityScore)
        .where(
            EntityScore.article_id == Article.id,
            EntityScore.entity == key,
            EntityScore.model_version == cur.c.model_version,
        )
        .limit(1)
        .lateral("own")
    )
    stmt = (
        select(
            Article.id,
            Article.title,
            Article.url,
            Article.source_id,
            Article.published_at,
            Article.tickers,
            func.coalesce(own.c.relevance, _relevance(key), 1.0).label("relevance"),
            *[cur.c[k] for k in _DOC_KEYS],
            *[own.c[k].label(f"own_{k}") for k in (*_DOC_KEYS, "source")],
        )
        .select_from(Article)
        .outerjoin(cur, true())
        .outerjoin(own, true())
        .where(Article.tickers.contains([key]), Article.published_at >= start, Article.published_at < end)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(limit)
    )
    return [_entity_article(dict(r._mapping)) for r in conn.execute(stmt)]


def _entity_article(row: dict[str, Any]) -> dict[str, Any]:
    doc = None if row["model_version"] is None else {k: row[k] for k in _DOC_KEYS}
    if row["own_model_version"] is not None:
        entity: dict[str, Any] | None = {k: row[f"own_{k}"] for k in (*_DOC_KEYS, "source")}
    else:  # not scored per entity (older rows, or a version that wrote none): the article's score
        entity = None if doc is None else {**doc, "source": "document"}
    return {
        "id": row["id"],
        "title": row["title"],
        "url": row["url"],
        "source_id": row["source_id"],
        "published_at": row["published_at"],
        "tickers": list(row["tickers"] or []),
        "relevance": min(1.0, max(0.0, float(row["relevance"]))),
        "entity": entity,
        "document": doc,
    }
