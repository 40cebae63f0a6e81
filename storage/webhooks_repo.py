"""Webhook subscriptions, their pending deliveries (the alert outbox) and the attempt log.

Deliveries are written in the alert's own transaction (see :class:`storage.alerts_repo.AlertOutbox`);
:class:`DeliveryRepository` is what the delivery worker uses to claim due ones and record attempts.
Subscriptions' signing secrets are returned only where a caller needs them to sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from finsent.storage.schema import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "DeliveryRepository",
    "add_subscription",
    "claim_due_deliveries",
    "create_subscription",
    "delete_subscription",
    "enqueue_delivery",
    "list_deliveries",
    "list_subscriptions",
    "list_webhooks",
    "record_attempt",
    "webhook_view",
]

_DELIVERIES = WebhookDelivery.__table__
_ATTEMPTS = WebhookAttempt.__table__
_SUBSCRIPTIONS = WebhookSubscription.__table__


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def webhook_view(sub: Mapping[Any, Any]) -> dict[str, Any]:
    """A ``webhook_subscriptions`` row as plain data; the signing secret is never returned here."""
    return {k: sub[k] for k in ("id", "url", "format", "filters", "active", "created_at")}


def list_webhooks(conn: Connection) -> list[dict[str, Any]]:
    """Every webhook subscription, oldest first, secrets left out."""
    subs = conn.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)).mappings()
    return [webhook_view(s) for s in subs]


def create_subscription(
    conn: Connection, *, url: str, secret: str, fmt: str, filters: dict[str, Any], active: bool
) -> dict[str, Any]:
    """Store a subscription (inactive if asked); returns its :func:`webhook_view` (no secret)."""
    sub_id = add_subscription(conn, url, secret, fmt=fmt, filters=filters)
    if not active:
        conn.execute(update(WebhookSubscription).where(WebhookSubscription.id == sub_id).values(active=False))
    sub = conn.execute(select(WebhookSubscription).where(WebhookSubscription.id == sub_id)).mappings().one()
    return webhook_view(sub)


def delete_subscription(conn: Connection, sub_id: int) -> bool:
    """Delete a subscription (its delivery log goes with it). False if there was none."""
    gone = conn.execute(
        delete(WebhookSubscription).where(WebhookSubscription.id == sub_id).returning(WebhookSubscription.id)
    ).first()
    return gone is not None


def add_subscription(
    conn: Connection, url: str, secret: str, *, fmt: str = "json", filters: dict[str, Any] | None = None
) -> int:
    """Register a webhook subscription; returns its id."""
    stmt = insert(WebhookSubscription).values(url=url, secret=secret, format=fmt, filters=filters or {})
    return int(conn.execute(stmt.returning(WebhookSubscription.id)).scalar_one())


def list_subscriptions(conn: Connection, *, active_only: bool = True) -> list[dict[str, Any]]:
    """Webhook subscriptions (with their secrets: callers must not print them)."""
    stmt = select(_SUBSCRIPTIONS).order_by(WebhookSubscription.id)
    if active_only:
        stmt = stmt.where(WebhookSubscription.active.is_(True))
    return _rows(conn.execute(stmt))


def enqueue_delivery(
    conn: Connection,
    subscription_id: int,
    alert_id: int | None,
    event: str,
    payload: dict[str, Any],
    *,
    at: datetime | None = None,
) -> int:
    """A pending delivery, due at ``at`` (default: now); returns its id."""
    values: dict[str, Any] = {
        "subscription_id": subscription_id,
        "alert_id": alert_id,
        "event": event,
        "payload": payload,
    }
    if at is not None:
        values["next_attempt_at"] = at
    return int(
        conn.execute(insert(WebhookDelivery).values(**values).returning(WebhookDelivery.id)).scalar_one()
    )


_CLAIM = text(
    """
WITH due AS (
    SELECT id FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= :now
    ORDER BY next_attempt_at, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d SET next_attempt_at = :lease_until
FROM due, webhook_subscriptions s
WHERE d.id = due.id AND s.id = d.subscription_id
RETURNING d.id, d.subscription_id, d.alert_id, d.event, d.payload, d.attempts,
          s.url, s.secret, s.format
"""
)


def claim_due_deliveries(
    conn: Connection, now: datetime, *, limit: int, lease: timedelta
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` pending deliveries that are due, pushing them ``lease`` ahead.

    A worker that dies mid-attempt leaves the delivery pending: it is due again when the lease
    ends, so deliveries survive restarts. ``SKIP LOCKED`` lets several workers share the queue.
    """
    rows = conn.execute(_CLAIM, {"now": now, "limit": limit, "lease_until": now + lease})
    return [dict(r._mapping) for r in rows]


def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    attempt: int,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    outcome: str,
    next_attempt_at: datetime | None = None,
) -> None:
    """Log one attempt and move the delivery on: ``outcome`` is delivered | retry | failed."""
    conn.execute(
        insert(WebhookAttempt).values(
            delivery_id=delivery_id,
            attempt=attempt,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    values: dict[str, Any] = {"attempts": attempt, "last_status_code": status_code, "last_error": error}
    if outcome == "delivered":
        values |= {"status": "delivered", "delivered_at": at}
    elif outcome == "failed":
        values |= {"status": "failed"}
    else:
        values |= {"next_attempt_at": next_attempt_at}
    conn.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values))


def list_deliveries(
    conn: Connection, *, status: str | None = None, alert_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Deliveries newest first, each with the subscription ``url`` and its ``attempt_log``."""
    stmt = (
        select(_DELIVERIES, WebhookSubscription.url)
        .join(_SUBSCRIPTIONS, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if alert_id is not None:
        stmt = stmt.where(WebhookDelivery.alert_id == alert_id)
    out = _rows(conn.execute(stmt))
    for row in out:
        log = (
            select(_ATTEMPTS).where(WebhookAttempt.delivery_id == row["id"]).order_by(WebhookAttempt.attempt)
        )
        row["attempt_log"] = _rows(conn.execute(log))
    return out


class DeliveryRepository:
    """The delivery worker's view of the outbox: claim due deliveries, record attempts.

    Each call is its own short transaction.

    Args:
        engine: Engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim_due(self, *, now: datetime, limit: int, lease: timedelta) -> list[dict[str, Any]]:
        """Claim up to ``limit`` due deliveries (see :func:`claim_due_deliveries`)."""
        with self.engine.begin() as conn:
            return claim_due_deliveries(conn, now, limit=limit, lease=lease)

    def record_attempt(
        self,
        delivery_id: int,
        *,
        attempt: int,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        outcome: str,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Log one attempt and move the delivery on (see :func:`record_attempt`)."""
        with self.engine.begin() as conn:
            record_attempt(
                conn,
                delivery_id,
                attempt=attempt,
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                outcome=outcome,
                next_attempt_at=next_attempt_at,
            )
