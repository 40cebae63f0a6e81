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

from sqlalchemy import Engine

from finsent.alerts.detectors import Counts
from finsent.alerts.engine import AlertEvent
from finsent.alerts.lifecycle import AlertState, Change
from finsent.alerts.rules import AnyRule
from finsent.alerts.webhooks import enqueue_notifications
from finsent.core.alerts import AlertEventName
from finsent.storage.alerts_repo import AlertOutbox, AlertRepository
from finsent.storage.scope_sums import ScopeSums
from finsent.storage.window_queries import window_articles

__all__ = ["DbAggregateReader", "DbAlertStore"]

log = logging.getLogger(__name__)


def _counts(raw: dict[str, float]) -> Counts:
    # floats: entity scopes are relevance-weighted sums
    return Counts(
        float(raw["n"]),
        float(raw["n_negative"]),
        float(raw["n_neutral"]),
        float(raw["n_positive"]),
        float(raw["sum_score"]),
    )


class DbAggregateReader:
    """Reads ``agg_topic`` / ``agg_entity`` (and scores for source scopes) through storage's ScopeSums."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sums = ScopeSums(engine)

    def totals(
        self, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None
    ) -> dict[str, Counts]:
        """Sums per scope value over ``[start, end)``."""
        raw = self._sums.totals(scope_kind=scope_kind, start=start, end=end, values=values)
        return {v: _counts(c) for v, c in raw.items()}

    def series(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, dict[int, Counts]]:
        """Sums per scope value per window."""
        raw = self._sums.series(scope_kind=scope_kind, start=start, width=width, count=count, values=values)
        return {v: {i: _counts(c) for i, c in by_i.items()} for v, by_i in raw.items()}

    def volumes(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, list[float]]:
        """Article count per scope value per window (zeros included, oldest first)."""
        series = self.series(scope_kind, start, width, count, values)
        return {v: [by_i[i].n if i in by_i else 0.0 for i in range(count)] for v, by_i in series.items()}

    def top_articles(
        self, scope_kind: str, value: str, start: datetime, end: datetime, order: str, limit: int
    ) -> list[dict[str, Any]]:
        """The window's most contributing articles of one scope.

        For an entity scope they are ranked by the entity's own score, and ``score`` /
        ``sentiment`` are the entity's (``document_score`` / ``document_sentiment`` the
        article's, ``relevance`` 0-100): the alert is about the entity, not the whole story.
        """
        if scope_kind == "entity":
            with self.engine.connect() as conn:
                rows = window_articles(conn, "entity", value, start, end, order=order, limit=limit)
            return [_entity_article(r) for r in rows]
        return self._sums.top_articles(
            scope_kind=scope_kind, value=value, start=start, end=end, order=order, limit=limit
        )


def _entity_article(row: dict[str, Any]) -> dict[str, Any]:
    own = row["entity"]
    published = row["published_at"]
    return {
        "id": row["id"],
        "title": row["title"],
        "url": row["url"],
        "source_id": row["source_id"],
        "published_at": published.isoformat() if isinstance(published, datetime) else published,
        "sentiment": own["sentiment"],
        "score": own["score"],
        "relevance": own["relevance_pct"],
        "entity_source": own["source"],
        "document_sentiment": row["sentiment"],
        "document_score": row["score"],
    }


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


class DbAlertStore:
    """Alerts in PostgreSQL; notifications become pending ``webhook_deliveries`` rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._alerts = AlertRepository(engine)

    def latest(self, rule_id: str, scope_kind: str) -> dict[str, AlertState]:
        """Latest alert per scope value of a rule."""
        rows = self._alerts.latest(rule_id=rule_id, scope_kind=scope_kind)
        return {r["scope_value"]: _state(r) for r in rows}

    def apply(self, rule: AnyRule, changes: Sequence[Change]) -> list[AlertEvent]:
        """Write the changes and enqueue matching webhook deliveries in one transaction."""
        events: list[AlertEvent] = []
        with self._alerts.outbox() as outbox:
            for change in changes:
                event = self._write(outbox, rule, change)
                if event is None:
                    continue
                if event.notified:
                    enqueue_notifications(outbox, event.payload, event.event)
                events.append(event)
        return events

    def _write(self, outbox: AlertOutbox, rule: AnyRule, change: Change) -> AlertEvent | None:
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
            values |= _episode(rule, state)
            alert_id = outbox.open(values)
            if alert_id is None:
                log.warning("live alert of %s/%s exists already; skipped", rule.id, state.scope_value)
                return None
            state = replace(state, id=alert_id)
        else:
            assert state.id is not None
            outbox.update(state.id, values)
        if change.action == "quiet" or state.id is None:
            return None
        payload = outbox.payload(state.id, description=rule.description)
        notified = change.notify is not None
        return AlertEvent(_EVENT[change.action], state.id, rule, state, det, notified, payload)


_EVENT: dict[str, AlertEventName] = {"open": "opened", "update": "updated", "resolve": "resolved"}


def _episode(rule: AnyRule, state: AlertState) -> dict[str, Any]:
    """The columns a new episode is opened with."""
    return {
        "rule_id": rule.id,
        "kind": rule.kind,
        "scope_kind": state.scope_kind,
        "scope_value": state.scope_value,
        "severity": rule.severity,
        "status": "open",
        "opened_at": state.opened_at,
        "window_start": state.window_start,
    }


def _jsonable(data: Any) -> Any:
    """Datetimes to ISO strings, recursively (JSONB columns)."""
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    if isinstance(data, datetime):
        return data.isoformat()
    return data
