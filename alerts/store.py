"""PostgreSQL-backed aggregate reader and alert store (the engine's production wiring).

:class:`DbAlertStore` writes alert changes and enqueues their webhook deliveries in one
transaction (an outbox): an alert is never stored without its notifications, nor the reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from finsent.alerts.detectors import Counts
from finsent.alerts.engine import AlertEvent
from finsent.alerts.lifecycle import AlertState, Change
from finsent.alerts.rules import Rule
from finsent.alerts.webhooks import render_payload, subscription_matches
from finsent.storage import alerts_repo

__all__ = ["DbAggregateReader", "DbAlertStore", "alert_view"]

log = logging.getLogger(__name__)


def _counts(raw: dict[str, float]) -> Counts:
    return Counts(
        int(raw["n"]),
        int(raw["n_negative"]),
        int(raw["n_neutral"]),
        int(raw["n_positive"]),
        float(raw["sum_score"]),
    )


class DbAggregateReader:
    """Reads ``agg_topic`` / ``agg_entity`` (and scores for source scopes) through alerts_repo."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def totals(
        self, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None
    ) -> dict[str, Counts]:
        """Sums per scope value over ``[start, end)``."""
        with self.engine.connect() as conn:
            raw = alerts_repo.scope_totals(conn, scope_kind, start, end, values)
        return {v: _counts(c) for v, c in raw.items()}

    def series(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, dict[int, Counts]]:
        """Sums per scope value per window."""
        with self.engine.connect() as conn:
            raw = alerts_repo.scope_series(conn, scope_kind, start, width, count, values)
        return {v: {i: _counts(c) for i, c in by_i.items()} for v, by_i in raw.items()}

    def top_articles(
        self, scope_kind: str, value: str, start: datetime, end: datetime, order: str, limit: int
    ) -> list[dict[str, Any]]:
        """The window's most contributing articles of one scope."""
        with self.engine.connect() as conn:
            return alerts_repo.top_articles(conn, scope_kind, value, start, end, order=order, limit=limit)


def _state(row: dict[str, Any]) -> AlertState:
    return AlertState(
        id=row["id"],
        rule_id=row["rule_id"],
        scope_kind=row["scope_kind"],
        scope_value=row["scope_value"],
        status=row["status"],
        opened_at=row["opened_at"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        last_notified_at=row["last_notified_at"],
        details=dict(row["details"] or {}),
    )


def alert_view(rule: Rule, state: AlertState, alert_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """An alert as plain JSON-able data (webhook payloads, the alerts topic, the CLI)."""
    details = {k: v for k, v in state.details.items() if k != "top_articles"}
    return {
        "id": alert_id,
        "rule_id": rule.id,
        "kind": rule.kind,
        "description": rule.description,
        "severity": rule.severity,
        "status": state.status,
        "scope": {"kind": state.scope_kind, "value": state.scope_value},
        "opened_at": state.opened_at.isoformat(),
        "window_start": state.window_start.isoformat(),
        "window_end": state.window_end.isoformat(),
        "value": row["value"],
        "baseline": row["baseline"],
        "statistic": row["statistic"],
        "details": details,
        "top_articles": list(state.details.get("top_articles", [])),
    }


class DbAlertStore:
    """Alerts in PostgreSQL; notifications become pending ``webhook_deliveries`` rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(self, rule_id: str, scope_kind: str) -> dict[str, AlertState]:
        """Latest alert per scope value of a rule."""
        with self.engine.connect() as conn:
            rows = alerts_repo.latest_alerts(conn, rule_id, scope_kind)
        return {r["scope_value"]: _state(r) for r in rows}

    def apply(self, rule: Rule, changes: Sequence[Change]) -> list[AlertEvent]:
        """Write the changes and enqueue matching webhook deliveries in one transaction."""
        events: list[AlertEvent] = []
        with self.engine.begin() as conn:
            subscriptions = None
            for change in changes:
                event = self._write(conn, rule, change)
                if event is None:
                    continue
                if event.notified:
                    if subscriptions is None:
                        subscriptions = alerts_repo.list_subscriptions(conn)
                    self._enqueue(conn, rule, event, subscriptions)
                events.append(event)
        return events

    def _write(self, conn: Connection, rule: Rule, change: Change) -> AlertEvent | None:
        state, det = change.state, change.detection
        end = datetime.fromisoformat(state.details["checked_until"])
        values: dict[str, Any] = {
            "details": _jsonable(state.details),
            "last_notified_at": state.last_notified_at,
        }
        if change.action in ("open", "update") and det is not None:
            values |= {"value": det.value, "baseline": det.baseline, "statistic": det.statistic}
            values |= {"window_end": state.window_end, "updated_at": end}
        if change.action == "resolve":
            values |= {"status": "resolved", "resolved_at": end, "updated_at": end}
        if change.action == "open":
            values |= {
                "rule_id": rule.id, "kind": rule.kind, "scope_kind": state.scope_kind,
                "scope_value": state.scope_value, "severity": rule.severity, "status": "open",
                "opened_at": state.opened_at, "window_start": state.window_start,
            }  # fmt: skip
            try:
                with conn.begin_nested():
                    alert_id = alerts_repo.insert_alert(conn, values)
            except sa_exc.IntegrityError:  # another engine opened this episode first
                log.warning("live alert of %s/%s exists already; skipped", rule.id, state.scope_value)
                return None
            state = replace(state, id=alert_id)
        else:
            assert state.id is not None
            alerts_repo.update_alert(conn, state.id, values)
        if change.action == "quiet" or state.id is None:
            return None
        row = alerts_repo.get_alert(conn, state.id) or {}
        name = {"open": "opened", "update": "updated", "resolve": "resolved"}[change.action]
        view = alert_view(rule, state, state.id, row)
        return AlertEvent(name, state.id, rule, state, det, change.notify is not None, view)

    def _enqueue(
        self, conn: Connection, rule: Rule, event: AlertEvent, subscriptions: list[dict[str, Any]]
    ) -> None:
        view = event.view
        for sub in subscriptions:
            if subscription_matches(sub["filters"] or {}, event.event, view):
                payload = render_payload(sub["format"], event.event, view)
                alerts_repo.enqueue_delivery(conn, sub["id"], event.alert_id, event.event, _jsonable(payload))


def _jsonable(data: Any) -> Any:
    """Datetimes to ISO strings, recursively (JSONB columns)."""
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    if isinstance(data, datetime):
        return data.isoformat()
    return data
