"""The alert contract: one typed :class:`AlertPayload` for every place an alert leaves a stage.

An alert episode is stored as one ``alerts`` row; :meth:`AlertPayload.from_row` is the one
function that turns such a row into the payload. Every outward shape is a view of it:

* the HTTP API answers with the payload itself (``GET /api/alerts``, ``POST .../ack``);
* webhook bodies carry :meth:`AlertPayload.webhook_alert` (scope nested, top articles apart);
* the Kafka alerts topic carries :meth:`AlertPayload.to_record` (an :class:`AlertRecord`).

Rule-detected alerts (the alerts stage) and the ``retrain_failed`` alert (the lifecycle stage)
both build it this way, so the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from finsent.core.records import AlertRecord

__all__ = ["AlertEventName", "AlertPayload", "AlertScopeKind", "AlertSeverity", "AlertStatus"]

AlertSeverity = Literal["info", "warning", "critical"]
AlertStatus = Literal["open", "acknowledged", "resolved"]
AlertScopeKind = Literal["topic", "entity", "source", "all"]
AlertEventName = Literal["opened", "updated", "resolved", "acknowledged"]

_ROW_FIELDS = (
    "id",
    "rule_id",
    "kind",
    "scope_kind",
    "scope_value",
    "severity",
    "status",
    "opened_at",
    "updated_at",
    "resolved_at",
    "acknowledged_at",
    "acknowledged_by",
    "window_start",
    "window_end",
    "value",
    "baseline",
    "statistic",
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class AlertPayload(BaseModel):
    """One alert episode as it leaves the system (API, webhooks, the alerts topic).

    ``details`` is the stored ``details`` JSON as it is (detector figures, ``checked_until``,
    ``top_articles``); ``description`` is the rule's text, known to the stage that raised the
    alert and ``None`` where only the row is at hand (the API).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)

    id: int
    rule_id: str
    kind: str
    scope_kind: AlertScopeKind
    scope_value: str
    severity: AlertSeverity
    status: AlertStatus
    opened_at: datetime
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    window_start: datetime
    window_end: datetime
    value: float
    baseline: float | None = None
    statistic: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], *, description: str | None = None) -> AlertPayload:
        """The payload of one stored ``alerts`` row (a mapping of its columns).

        Args:
            row: The row's columns; missing optional columns (``updated_at``...) read as None.
            description: The rule's description, where the caller knows the rule.

        Raises:
            pydantic.ValidationError: the row is not a valid alert (unknown severity, ...).
        """
        data = {name: row[name] for name in _ROW_FIELDS if name in row}
        details = dict(row.get("details") or {})
        return cls.model_validate({**data, "details": details, "description": description})

    @property
    def top_articles(self) -> list[dict[str, Any]]:
        """The window's most contributing articles, as the detector stored them."""
        return list(self.details.get("top_articles", []))

    def webhook_alert(self) -> dict[str, Any]:
        """The ``alert`` object of webhook bodies: JSON-able, scope nested, times in ISO 8601."""
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "kind": self.kind,
            "description": self.description,
            "severity": self.severity,
            "status": self.status,
            "scope": {"kind": self.scope_kind, "value": self.scope_value},
            "opened_at": _iso(self.opened_at),
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "value": self.value,
            "baseline": self.baseline,
            "statistic": self.statistic,
            "details": {k: v for k, v in self.details.items() if k != "top_articles"},
            "top_articles": self.top_articles,
        }

    def to_record(
        self, event: AlertEventName, *, at: datetime | None = None, details: dict[str, Any] | None = None
    ) -> AlertRecord:
        """The alerts-topic message of one lifecycle event of this alert.

        Args:
            event: What happened (opened, updated, resolved, acknowledged).
            at: When (default: now).
            details: The record's ``details``; by default the alert's details, top articles and
                status.
        """
        if details is None:
            view = self.webhook_alert()
            details = {k: v for k, v in view.items() if k in ("status", "details", "top_articles")}
        return AlertRecord(
            alert_id=self.id,
            event=event,
            rule_id=self.rule_id,
            rule_kind=self.kind,
            scope_kind=self.scope_kind,
            scope_value=self.scope_value,
            severity=self.severity,
            value=self.value,
            baseline=self.baseline,
            statistic=self.statistic,
            window_start=self.window_start,
            window_end=self.window_end,
            at=at or datetime.now(UTC),
            details=details,
        )
