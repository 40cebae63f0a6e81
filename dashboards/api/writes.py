"""The API's writes: alert acknowledgement and webhook subscriptions.

Each is one short transaction over the storage tables with bound parameters. ``None`` means
"unknown id" (the router answers 404). Labels are in ``dashboards.api.labeling``;
model promotion is ``storage.model_registry.SqlModelIndex``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from finsent.storage import alerts_repo
from finsent.storage.api_admin_queries import get_alert, webhook_view
from finsent.storage.schema import WebhookSubscription

__all__ = [
    "acknowledge_alert",
    "create_webhook",
    "delete_webhook",
]


def acknowledge_alert(conn: Connection, alert_id: int, by: str) -> dict[str, Any] | None:
    """Acknowledge an alert through ``storage.alerts_repo`` (the rule ``finsent alerts ack`` uses).

    Idempotent, the first acknowledgement is kept; an open alert becomes ``acknowledged``, a
    resolved one keeps its status but records who acknowledged it.

    Returns:
        The alert, or None if no alert has this id.
    """
    if alerts_repo.acknowledge_alert(conn, alert_id, by, datetime.now(UTC)) is None:
        return None
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
