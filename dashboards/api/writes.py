"""The API's writes: alert acknowledgement, webhook subscriptions, labels.

Each is one short transaction over the storage tables with bound parameters. ``None`` means
"unknown id" (the router answers 404). Model promotion is ``storage.model_registry.SqlModelIndex``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from storage import alerts_repo
from storage.api_queries import get_alert, webhook_view
from storage.schema import Alert, Article, Label, WebhookSubscription

__all__ = [
    "acknowledge_alert",
    "create_webhook",
    "delete_webhook",
    "insert_label",
]


def acknowledge_alert(conn: Connection, alert_id: int, by: str) -> dict[str, Any] | None:
    """Acknowledge an alert (idempotent: the first acknowledgement is kept).

    Same rule as ``storage.alerts_repo.acknowledge_alert`` (``finsent alerts ack``): an open alert
    becomes ``acknowledged``; a resolved one keeps its status but records who acknowledged it.

    Returns:
        The alert, or None if no alert has this id.
    """
    now = datetime.now(UTC)
    conn.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=by, updated_at=now)
    )
    conn.execute(
        update(Alert).where(Alert.id == alert_id, Alert.status == "open").values(status="acknowledged")
    )
    return get_alert(conn, alert_id)


def create_webhook(
    conn: Connection,
    *,
    url: str,
    secret: str | None,
    fmt: str,
    filters: dict[str, Any],
    active: bool,
) -> dict[str, Any]:
    """Store a subscription; a missing secret is generated. Returns it with its secret."""
    secret = secret or secrets.token_urlsafe(32)
    sub_id = alerts_repo.add_subscription(conn, url, secret, fmt=fmt, filters=filters)
    if not active:
        conn.execute(update(WebhookSubscription).where(WebhookSubscription.id == sub_id).values(active=False))
    sub = conn.execute(select(WebhookSubscription).where(WebhookSubscription.id == sub_id)).mappings().one()
    return {**webhook_view(sub), "secret": secret}


def delete_webhook(conn: Connection, sub_id: int) -> bool:
    """Delete a subscription (its delivery log goes with it). False if there was none."""
    gone = conn.execute(
        delete(WebhookSubscription).where(WebhookSubscription.id == sub_id).returning(WebhookSubscription.id)
    ).first()
    return gone is not None


def insert_label(
    conn: Connection,
    *,
    article_id: str | None,
    text: str | None,
    topic: int | None,
    sentiment: str | None,
    labeled_by: str,
) -> dict[str, Any] | None:
    """Store an analyst's label. Without ``text`` the article's title and lead are labelled.

    Returns:
        The label, or None if ``article_id`` names no article.
    """
    if article_id is not None:
        article = conn.execute(select(Article.title, Article.body).where(Article.id == article_id)).first()
        if article is None:
            return None
        if text is None:
            text = _compose(article.title, article.body)
    assert text is not None  # LabelIn guarantees text or article_id
    label_id = conn.execute(
        insert(Label)
        .values(
            article_id=article_id,
            text=text,
            topic=topic,
            sentiment=sentiment,
            labeled_by=labeled_by,
            origin="api",
        )
        .returning(Label.id)
    ).scalar_one()
    label = conn.execute(select(Label).where(Label.id == label_id)).mappings().one()
    keys = ("id", "article_id", "text", "topic", "sentiment", "labeled_by", "labeled_at", "origin")
    return {k: label[k] for k in keys}


def _compose(title: str, body: str) -> str:
    # The text the models score, so a label teaches exactly what the model saw.
    from models.text import compose_text

    return compose_text(title, body)
