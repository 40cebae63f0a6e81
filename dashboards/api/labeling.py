"""Labels in and the labelling queue, with the same rules as ``finsent labels ...``.

Labels are checked by ``models.retrain.validate_label`` and stored by ``storage.labels_repo``;
the queue ranks unlabelled articles with ``models.retrain.rank_candidates`` (margin uncertainty
of the production model, and disagreement with the previous production model where that model
already scored the article -- the API never loads a model to score the queue).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from finsent.lifecycle import Candidate, rank_candidates, validate_label
from finsent.models.labels import TOPIC_LABELS
from finsent.models.text import compose_text
from finsent.storage import labels_repo
from finsent.storage.schema import Article, Label, ModelVersion

__all__ = ["QUEUE_POOL", "label_queue", "store_label"]

#: Newest unlabelled scored articles the queue ranks.
QUEUE_POOL = 5000
_LABEL_KEYS = ("id", "article_id", "text", "topic", "sentiment", "labeled_by", "labeled_at", "origin")


def store_label(conn: Connection, data: dict[str, Any]) -> dict[str, Any] | None:
    """Validate and store one label; a label for an article without text gets its title and lead.

    Returns:
        The stored label, or None if ``article_id`` names no article.

    Raises:
        models.retrain.LabelError: the label is unusable (the message says why).
    """
    row = validate_label(data)
    values = row.as_row("api")
    if row.article_id is not None:
        texts = labels_repo.article_texts(conn, {row.article_id})
        if row.article_id not in texts:
            return None
        if row.text is None:
            values["text"] = compose_text(*texts[row.article_id])
    (label_id,) = labels_repo.insert_labels(conn, [values])
    label = conn.execute(select(Label).where(Label.id == label_id)).mappings().one()
    return {k: label[k] for k in _LABEL_KEYS}


def _versions(conn: Connection) -> tuple[str | None, str | None]:
    """The production version and the one that was production before it."""
    rows = conn.execute(
        select(ModelVersion.version, ModelVersion.status, ModelVersion.promoted_at)
        .where(ModelVersion.status.in_(("production", "archived")), ModelVersion.promoted_at.is_not(None))
        .order_by(ModelVersion.promoted_at.desc())
    ).all()
    current = next((r for r in rows if r.status == "production"), None)
    if current is None:
        production = conn.execute(
            select(ModelVersion.version).where(ModelVersion.status == "production")
        ).scalar_one_or_none()
        return production, None
    earlier = [r for r in rows if r.status == "archived" and r.promoted_at < current.promoted_at]
    return current.version, (earlier[0].version if earlier else None)


def label_queue(
    conn: Connection,
    *,
    limit: int,
    offset: int,
    days: float,
    topic: int | None = None,
    sentiment: str | None = None,
) -> dict[str, Any]:
    """The unlabelled articles most worth an analyst's label, highest priority first."""
    production, previous = _versions(conn)
    if production is None:
        return {"model_version": None, "items": [], "candidates": 0, "limit": limit, "offset": offset}
    since = datetime.now(UTC) - timedelta(days=days)
    rows = labels_repo.queue_candidates(
        conn, version=production, previous_version=previous, since=since, limit=QUEUE_POOL
    )
    by_id = {r["article_id"]: r for r in rows}
    candidates = [
        Candidate(
            article_id=r["article_id"],
            text=compose_text(r["title"], r["body"]),
            sentiment_probs=r["sentiment_probs"],
            topic_probs=r["topic_probs"],
            prev_sentiment_probs=r["prev_sentiment_probs"],
            prev_topic_probs=r["prev_topic_probs"],
            published_ts=r["published_at"].timestamp(),
        )
        for r in rows
    ]
    ranked = [
        p
        for p in rank_candidates(candidates, len(candidates))
        if (topic is None or p.topic == topic) and (sentiment is None or p.sentiment == sentiment)
    ]
    urls = _urls(conn, [p.article_id for p in ranked[offset : offset + limit]])
    items = [
        {
            **asdict(p),
            "topic_label": TOPIC_LABELS[p.topic],
            "title": by_id[p.article_id]["title"],
            "published_at": by_id[p.article_id]["published_at"],
            "url": urls.get(p.article_id),
        }
        for p in ranked[offset : offset + limit]
    ]
    return {
        "model_version": production,
        "previous_version": previous,
        "items": items,
        "candidates": len(ranked),
        "limit": limit,
        "offset": offset,
    }


def _urls(conn: Connection, ids: list[str]) -> dict[str, str | None]:
    if not ids:
        return {}
    return {r.id: r.url for r in conn.execute(select(Article.id, Article.url).where(Article.id.in_(ids)))}
