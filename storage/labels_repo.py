"""Analysts' labels and the reads retraining needs: labeling-queue candidates, recent scores.

Rows are validated before they get here (``finsent.lifecycle.validate_label``: topic id, sentiment
name, non-empty text); this module only stores and reads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from finsent.storage.exceptions import translate_errors
from finsent.storage.schema import Article, Label, Score

__all__ = [
    "LABEL_COLUMNS",
    "article_texts",
    "count_labels",
    "get_label",
    "insert_labels",
    "list_labels",
    "queue_candidates",
    "recent_scores",
]

#: Columns a label row may set (``id`` and, unless given, ``labeled_at`` come from the database).
LABEL_COLUMNS = ("article_id", "text", "topic", "sentiment", "labeled_by", "labeled_at", "origin")
_OUT = ("id", *LABEL_COLUMNS)


def insert_labels(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Store labels in one statement; returns their ids in input order.

    Raises:
        ValueError: A row has a column ``labels`` does not have, or lacks text or labeled_by.
        StorageDataError: A row violates the schema (e.g. an article id that does not exist).
    """
    if not rows:
        return []
    clean: list[dict[str, Any]] = []
    for row in rows:
        extra = set(row) - set(LABEL_COLUMNS)
        if extra:
            raise ValueError(f"unknown label columns {sorted(extra)}")
        if not row.get("text") or not row.get("labeled_by"):
            raise ValueError("a label needs a text and labeled_by")
        clean.append({c: row[c] for c in LABEL_COLUMNS if c in row})
    # One column set per statement: labeled_at is optional, so group rows by their keys.
    ids: dict[int, int] = {}
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(clean):
        groups.setdefault(tuple(sorted(row)), []).append(i)
    with translate_errors("insert into labels"):
        for members in groups.values():
            stmt = insert(Label).returning(Label.id, sort_by_parameter_order=True)
            result = conn.execute(stmt, [clean[i] for i in members])
            for i, new_id in zip(members, result.scalars(), strict=True):
                ids[i] = int(new_id)
    return [ids[i] for i in range(len(clean))]


def get_label(conn: Connection, label_id: int) -> dict[str, Any] | None:
    """One stored label (every column), or None."""
    stmt = select(*(Label.__table__.c[c] for c in _OUT)).where(Label.id == label_id)
    with translate_errors("reading a label"):
        row = conn.execute(stmt).first()
    return None if row is None else dict(row._mapping)


def list_labels(conn: Connection, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Every label (or those labeled after ``since``), oldest first."""
    stmt = select(*(Label.__table__.c[c] for c in _OUT)).order_by(Label.id)
    if since is not None:
        stmt = stmt.where(Label.labeled_at > since)
    with translate_errors("reading labels"):
        return [dict(r._mapping) for r in conn.execute(stmt)]


def count_labels(conn: Connection, *, since: datetime | None = None) -> int:
    """Number of labels (labeled after ``since``, if given)."""
    stmt = select(func.count()).select_from(Label)
    if since is not None:
        stmt = stmt.where(Label.labeled_at > since)
    with translate_errors("counting labels"):
        return int(conn.execute(stmt).scalar_one())


def article_texts(conn: Connection, ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """``{article id: (title, body)}`` of the given ids that exist."""
    if not ids:
        return {}
    stmt = select(Article.id, Article.title, Article.body).where(Article.id.in_(list(ids)))
    with translate_errors("reading articles"):
        return {r.id: (r.title, r.body or "") for r in conn.execute(stmt)}


def queue_candidates(
    conn: Connection,
    *,
    version: str,
    previous_version: str | None = None,
    since: datetime | None = None,
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """Unlabeled articles scored by ``version``, newest first, with the previous version's probs.

    Each row: ``article_id``, ``title``, ``body``, ``url``, ``published_at``, ``topic_probs``,
    ``sentiment_probs``, ``confidence``, ``prev_topic_probs``, ``prev_sentiment_probs``
    (None when ``previous_version`` did not score the article).
    """
    cur = Score.__table__.alias("cur")
    prev = Score.__table__.alias("prev")
    labeled = select(Label.id).where(Label.article_id == Article.id).exists()
    join_prev = and_(prev.c.article_id == Article.id, prev.c.model_version == (previous_version or ""))
    stmt = (
        select(
            Article.id.label("article_id"),
            Article.title,
            Article.body,
            Article.url,
            Article.published_at,
            cur.c.topic_probs,
            cur.c.sentiment_probs,
            cur.c.confidence,
            prev.c.topic_probs.label("prev_topic_probs"),
            prev.c.sentiment_probs.label("prev_sentiment_probs"),
        )
        .select_from(Article)
        .join(cur, and_(cur.c.article_id == Article.id, cur.c.model_version == version))
        .outerjoin(prev, join_prev)
        .where(~labeled)
        .order_by(Article.published_at.desc(), Article.id)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Article.published_at >= since)
    with translate_errors("reading labeling candidates"):
        return [dict(r._mapping) for r in conn.execute(stmt)]


def recent_scores(
    conn: Connection, *, version: str | None, since: datetime | None = None, limit: int = 20_000
) -> list[dict[str, Any]]:
    """The newest scores (of ``version``, or of any version) with their article's title and body.

    Each row: ``topic``, ``sentiment``, ``confidence``, ``model_version``, ``title``, ``body``.
    """
    stmt = (
        select(
            Score.topic, Score.sentiment, Score.confidence, Score.model_version, Article.title, Article.body
        )
        .join(Article, Article.id == Score.article_id)
        .order_by(Score.scored_at.desc())
        .limit(limit)
    )
    if version is not None:
        stmt = stmt.where(Score.model_version == version)
    if since is not None:
        stmt = stmt.where(Score.scored_at >= since)
    with translate_errors("reading recent scores"):
        return [dict(r._mapping) for r in conn.execute(stmt)]
