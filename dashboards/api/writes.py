"""The API's writes: alert acknowledgement and webhook subscriptions.

Each is one short transaction over the storage tables with bound parameters. ``None`` means
"unknown id" (the router answers 404). Labels are stored by ``finsent.lifecycle.labeling``;
model promotion is ``storage.model_versions.SqlModelIndex``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from finsent.core.alerts import AlertPayload
from finsent.storage import alerts_repo, webhooks_repo

__all__ = [
    "acknowledge_alert",
    "create_webhook",
    "delete_webhook",
]


def acknowledge_alert(conn: Connection, alert_id: int, by: str) -> AlertPayload | None:
    """Acknowledge an alert through ``storage.alerts_repo`` (the rule ``finsent alerts ack`` uses).

    Idempotent, the first acknowledgement is kept; an open alert becomes ``acknowledged``, a
    resolved one keeps its status but records who acknowledged it.

    Returns:
        The alert, or None if no alert has this id.
    """
    row = alerts_repo.acknowledge_alert(conn, alert_id, by, datetime.now(UTC))
    return None if row is None else AlertPayload.from_row(row)


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
    sub = webhooks_repo.create_subscription(
        conn, url=url, secret=secret, fmt=fmt, filters=filters, active=active
    )
    return {**sub, "secret": secret}


def delete_webhook(conn: Connection, sub_id: int) -> bool:
    """Delete a subscription (its delivery log goes with it). False if there was none."""
    return webhooks_repo.delete_subscription(conn, sub_id)
