"""Queries the alerts stage needs: aggregate sums per scope, alerts, webhook subscriptions/deliveries.

Plain data in and out (dicts of column values), so ``storage`` knows nothing of the alert rules.
Scope kinds: ``topic`` (value: topic id as text), ``entity`` (ticker), ``source`` (source id) and
``all`` (value ``*``). Topic/entity/all read the per-minute aggregate tables; ``source`` has no
aggregate table yet and sums the latest score of each article in the span (bounded by the
``published_at`` index).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from finsent.storage.schema import Alert, WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "SCOPE_KINDS",
    "acknowledge_alert",
    "add_subscription",
    "claim_due_deliveries",
    "enqueue_delivery",
    "get_alert",
    "insert_alert",
    "latest_alerts",
    "list_alerts",
    "list_deliveries",
    "list_subscriptions",
    "record_attempt",
    "scope_series",
    "scope_totals",
    "top_articles",
    "update_alert",
]

SCOPE_KINDS = ("topic", "entity", "source", "all")
COUNT_KEYS = ("n", "n_negative", "n_neutral", "n_positive", "sum_score")

_LATEST_SCORES = """
    SELECT DISTINCT ON (s.article_id) s.article_id, s.published_at AS ts, s.topic, s.sentiment, s.score
    FROM scores s
    WHERE s.published_at >= :start AND s.published_at < :end
    ORDER BY s.article_id, s.scored_at DESC, s.model_version DESC
"""

# Per scope kind: rows of (v, ts, n, n_negative, n_neutral, n_positive, sum_score) in [start, end).
_BASE = {
    "topic": "SELECT topic::text AS v, bucket AS ts, n, n_negative, n_neutral, n_positive, sum_score "
    "FROM agg_topic WHERE bucket >= :start AND bucket < :end AND topic >= 0",
    "all": "SELECT '*'::text AS v, bucket AS ts, n, n_negative, n_neutral, n_positive, sum_score "
    "FROM agg_topic WHERE bucket >= :start AND bucket < :end AND topic = -1",
    "entity": "SELECT entity::text AS v, bucket AS ts, n, n_negative, n_neutral, n_positive, sum_score "
    "FROM agg_entity WHERE bucket >= :start AND bucket < :end",
    "source": "SELECT a.source_id::text AS v, l.ts, 1 AS n, (l.sentiment = 'negative')::int AS n_negative, "
    "(l.sentiment = 'neutral')::int AS n_neutral, (l.sentiment = 'positive')::int AS n_positive, "
    f"l.score AS sum_score FROM ({_LATEST_SCORES}) l JOIN articles a ON a.id = l.article_id "
    "WHERE a.source_id IS NOT NULL",
}
_SUMS = "sum(n)::int, sum(n_negative)::int, sum(n_neutral)::int, sum(n_positive)::int, sum(sum_score)"


def _base(scope_kind: str, values: Collection[str] | None) -> tuple[str, dict[str, Any]]:
    if scope_kind not in _BASE:
        raise ValueError(f"unknown scope kind {scope_kind!r} (known: {', '.join(SCOPE_KINDS)})")
    sql = f"SELECT * FROM ({_BASE[scope_kind]}) AS base"
    params: dict[str, Any] = {}
    if values is not None:
        sql += " WHERE v = ANY(:values)"
        params["values"] = list(values)
    return sql, params


def _counts(row: Any, offset: int) -> dict[str, float]:
    return {k: (row[offset + i] or 0) for i, k in enumerate(COUNT_KEYS)}


def scope_totals(
    conn: Connection, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None = None
) -> dict[str, dict[str, float]]:
    """Sums of n / n_negative / n_neutral / n_positive / sum_score per scope value over ``[start, end)``.

    Values without any article in the span are absent. ``values`` restricts to those scope values.
    """
    base, params = _base(scope_kind, values)
    stmt = text(f"SELECT v, {_SUMS} FROM ({base}) AS b GROUP BY v")
    rows = conn.execute(stmt, {"start": start, "end": end, **params})
    return {row[0]: _counts(row, 1) for row in rows}


def scope_series(
    conn: Connection,
    scope_kind: str,
    start: datetime,
    width: timedelta,
    count: int,
    values: Collection[str],
) -> dict[str, dict[int, dict[str, float]]]:
    """Sums per scope value per window ``i`` = ``[start + i*width, start + (i+1)*width)``, i < count.

    Empty windows are absent (callers treat them as zero).
    """
    base, params = _base(scope_kind, values)
    stmt = text(
        f"SELECT v, floor(extract(epoch FROM ts - :start) / :width)::int AS i, {_SUMS} "
        f"FROM ({base}) AS b GROUP BY v, i"
    )
    args = {"start": start, "end": start + count * width, "width": width.total_seconds(), **params}
    out: dict[str, dict[int, dict[str, float]]] = {}
    for row in conn.execute(stmt, args):
        out.setdefault(row[0], {})[int(row[1])] = _counts(row, 2)
    return out


_ORDER = {"negative": "l.score ASC", "positive": "l.score DESC", "extreme": "abs(l.score) DESC"}
_SCOPE_FILTER = {
    "topic": "l.topic = CAST(:value AS int)",
    "entity": "(:value = ANY(a.tickers) OR a.entities @> jsonb_build_array(jsonb_build_object('ticker', "
    "CAST(:value AS text))))",
    "source": "a.source_id = :value",
    "all": "true",
}


def top_articles(
    conn: Connection,
    scope_kind: str,
    value: str,
    start: datetime,
    end: datetime,
    *,
    order: str = "negative",
    limit: int = 5,
) -> list[dict[str, Any]]:
    """The articles of one scope in ``[start, end)`` that contributed most (by latest score).

    ``order``: ``negative`` (most negative first), ``positive``, or ``extreme`` (largest |score|).
    Returns dicts with id, title, url, source_id, published_at (ISO), sentiment and score.
    """
    stmt = text(
        f"SELECT a.id, a.title, a.url, a.source_id, l.ts, l.sentiment, l.score "
        f"FROM ({_LATEST_SCORES}) l JOIN articles a ON a.id = l.article_id "
        f"WHERE {_SCOPE_FILTER[scope_kind]} ORDER BY {_ORDER[order]}, l.ts DESC LIMIT :limit"
    )
    rows = conn.execute(stmt, {"start": start, "end": end, "value": value, "limit": limit})
    keys = ("id", "title", "url", "source_id", "published_at", "sentiment", "score")
    return [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in zip(keys, row, strict=True)}
        for row in rows
    ]


# --- alerts -----------------------------------------------------------------------------------------


_ALERTS = Alert.__table__
_DELIVERIES = WebhookDelivery.__table__
_ATTEMPTS = WebhookAttempt.__table__
_SUBSCRIPTIONS = WebhookSubscription.__table__


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


def latest_alerts(conn: Connection, rule_id: str, scope_kind: str) -> list[dict[str, Any]]:
    """The newest alert (live or resolved) of each scope value of a rule."""
    stmt = text(
        "SELECT DISTINCT ON (scope_value) * FROM alerts WHERE rule_id = :rule_id AND scope_kind = :kind "
        "ORDER BY scope_value, id DESC"
    )
    return _rows(conn.execute(stmt, {"rule_id": rule_id, "kind": scope_kind}))


def insert_alert(conn: Connection, values: dict[str, Any]) -> int:
    """Insert an alert row; returns its id (the live-episode unique index applies)."""
    return int(conn.execute(insert(Alert).values(**values).returning(Alert.id)).scalar_one())


def update_alert(conn: Connection, alert_id: int, values: dict[str, Any]) -> None:
    """Update columns of one alert."""
    conn.execute(update(Alert).where(Alert.id == alert_id).values(**values))


def get_alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """One alert row, or None."""
    rows = _rows(conn.execute(select(_ALERTS).where(Alert.id == alert_id)))
    return rows[0] if rows else None


def acknowledge_alert(conn: Connection, alert_id: int, by: str, at: datetime) -> dict[str, Any] | None:
    """Mark a live alert acknowledged (idempotent); returns the row, or None if no such alert.

    A resolved alert keeps its status but records who acknowledged it.
    """
    conn.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=at, acknowledged_by=by)
    )
    conn.execute(
        update(Alert).where(Alert.id == alert_id, Alert.status == "open").values(status="acknowledged")
    )
    return get_alert(conn, alert_id)


def list_alerts(conn: Connection, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest alerts first, each with ``deliveries``: counts of its webhook deliveries by status."""
    stmt = select(_ALERTS).order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    alerts = _rows(conn.execute(stmt))
    ids = [a["id"] for a in alerts]
    counts: dict[int, dict[str, int]] = {}
    if ids:
        rows = conn.execute(
            text(
                "SELECT alert_id, status, count(*) FROM webhook_deliveries "
                "WHERE alert_id = ANY(:ids) GROUP BY alert_id, status"
            ),
            {"ids": ids},
        )
        for alert_id, st, n in rows:
            counts.setdefault(alert_id, {})[st] = n
    for a in alerts:
        a["deliveries"] = counts.get(a["id"], {})
    return alerts


# --- webhooks ---------------------------------------------------------------------------------------


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
