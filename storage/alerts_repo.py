"""The ``alerts`` table: alert episodes, their listing for the API and the CLI, and the outbox.

Plain data in (dicts of column values); rows out as dicts, or as the typed
:class:`~finsent.core.alerts.AlertPayload` where they leave the system (the API). Stages use the
engine-level :class:`AlertRepository`; :meth:`AlertRepository.outbox` is the one transaction in
which an alert changes and its webhook deliveries are enqueued, so an alert is never stored
without its notifications, nor the reverse.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, or_, select, text, true, update
from sqlalchemy import exc as sa_exc

from finsent.core.alerts import AlertPayload
from finsent.storage.paging import Page, count_rows
from finsent.storage.schema import Alert
from finsent.storage.webhooks_repo import enqueue_delivery, list_subscriptions

__all__ = [
    "ALERT_SORTS",
    "AlertFilter",
    "AlertOutbox",
    "AlertRepository",
    "acknowledge_alert",
    "alert_page",
    "get_alert",
    "get_payload",
    "insert_alert",
    "latest_alerts",
    "list_alerts",
    "update_alert",
]

_ALERTS = Alert.__table__


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


@dataclass(frozen=True)
class AlertFilter:
    """Filters of the API's alert listing; the time range selects episodes overlapping it."""

    status: str | None = None
    severity: str | None = None
    scope_kind: str | None = None
    scope_value: str | None = None
    rule_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


#: Sort keys of ``GET /api/alerts``.
ALERT_SORTS: dict[str, Any] = {
    "-opened_at": Alert.opened_at.desc(),
    "opened_at": Alert.opened_at.asc(),
    "-updated_at": Alert.updated_at.desc(),
    "-value": Alert.value.desc(),
}


def alert_page(
    conn: Connection, flt: AlertFilter, *, sort: str = "-opened_at", limit: int = 50, offset: int = 0
) -> Page:
    """Alert episodes matching ``flt`` as payloads; a time range selects episodes overlapping it.

    Raises:
        KeyError: ``sort`` is not a key of :data:`ALERT_SORTS`.
    """
    order = ALERT_SORTS[sort]
    conds: list[ColumnElement[bool]] = []
    for column, value in (
        (Alert.status, flt.status),
        (Alert.severity, flt.severity),
        (Alert.scope_kind, flt.scope_kind),
        (Alert.scope_value, flt.scope_value),
        (Alert.rule_id, flt.rule_id),
    ):
        if value is not None:
            conds.append(column == value)
    if flt.end is not None:
        conds.append(Alert.opened_at < flt.end)
    if flt.start is not None:
        conds.append(or_(Alert.resolved_at.is_(None), Alert.resolved_at >= flt.start))
    base = select(_ALERTS).where(and_(true(), *conds))
    rows = conn.execute(base.order_by(order, Alert.id.desc()).limit(limit).offset(offset)).mappings()
    items = [AlertPayload.from_row(r) for r in rows]
    return Page(items=items, total=count_rows(conn, base), limit=limit, offset=offset)


def get_payload(conn: Connection, alert_id: int, *, description: str | None = None) -> AlertPayload | None:
    """One alert as its payload, or None if there is no such alert."""
    row = get_alert(conn, alert_id)
    return None if row is None else AlertPayload.from_row(row, description=description)


class AlertOutbox:
    """One transaction over alerts and their webhook deliveries (from :meth:`AlertRepository.outbox`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._subscriptions: list[dict[str, Any]] | None = None

    def latest(self, *, rule_id: str, scope_kind: str) -> list[dict[str, Any]]:
        """The newest alert (live or resolved) of each scope value of a rule."""
        return latest_alerts(self._conn, rule_id, scope_kind)

    def open(self, values: dict[str, Any]) -> int | None:
        """Insert a new episode; its id, or None when the (rule, scope) has a live one already.

        The insert runs in a savepoint, so a lost race leaves the rest of the transaction intact.
        """
        try:
            with self._conn.begin_nested():
                return insert_alert(self._conn, values)
        except sa_exc.IntegrityError:  # another engine opened this episode first
            return None

    def update(self, alert_id: int, values: dict[str, Any]) -> None:
        """Update columns of one alert."""
        update_alert(self._conn, alert_id, values)

    def payload(self, alert_id: int, *, description: str | None = None) -> AlertPayload:
        """The alert as it is now in this transaction.

        Raises:
            LookupError: there is no such alert.
        """
        found = get_payload(self._conn, alert_id, description=description)
        if found is None:
            raise LookupError(f"no alert {alert_id}")
        return found

    def subscriptions(self) -> list[dict[str, Any]]:
        """Active webhook subscriptions (read once per outbox; with secrets: never print them)."""
        if self._subscriptions is None:
            self._subscriptions = list_subscriptions(self._conn)
        return self._subscriptions

    def enqueue(self, *, subscription_id: int, alert_id: int, event: str, body: dict[str, Any]) -> int:
        """A pending delivery of ``body`` to one subscription, due now; returns its id."""
        return enqueue_delivery(self._conn, subscription_id, alert_id, event, body)


class AlertRepository:
    """Alerts for the stages: short reads, acknowledgements, and :meth:`outbox` transactions.

    Args:
        engine: Engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(self, *, rule_id: str, scope_kind: str) -> list[dict[str, Any]]:
        """The newest alert (live or resolved) of each scope value of a rule."""
        with self.engine.connect() as conn:
            return latest_alerts(conn, rule_id, scope_kind)

    def listing(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest alerts first with their delivery counts (see :func:`list_alerts`)."""
        with self.engine.connect() as conn:
            return list_alerts(conn, status=status, limit=limit)

    def acknowledge(self, *, alert_id: int, by: str, at: datetime | None = None) -> dict[str, Any] | None:
        """Acknowledge an alert (see :func:`acknowledge_alert`); the row, or None."""
        with self.engine.begin() as conn:
            return acknowledge_alert(conn, alert_id, by, at or datetime.now(UTC))

    @contextlib.contextmanager
    def outbox(self) -> Iterator[AlertOutbox]:
        """A transaction for alert changes and their deliveries (commit on success)."""
        with self.engine.begin() as conn:
            yield AlertOutbox(conn)
