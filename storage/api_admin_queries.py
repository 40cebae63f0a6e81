"""Read queries of the API's operational endpoints: alerts, webhook subscriptions, model versions.

Split from :mod:`storage.api_queries` (articles and aggregates); the same rules hold: bound
parameters only, sort orders from a whitelist, plain dicts out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select, true

from finsent.storage.api_queries import Page, count_rows
from finsent.storage.schema import Alert, ModelVersion, WebhookSubscription

__all__ = [
    "ALERT_SORTS",
    "AlertFilter",
    "alert_view",
    "get_alert",
    "list_alerts",
    "list_models",
    "list_webhooks",
    "model_view",
    "webhook_view",
]


@dataclass(frozen=True)
class AlertFilter:
    """Filters of the alert listing; the time range selects episodes overlapping it."""

    status: str | None = None
    severity: str | None = None
    scope_kind: str | None = None
    scope_value: str | None = None
    rule_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


# --- alerts ---------------------------------------------------------------------------------------

#: Sort keys of ``GET /api/alerts``.
ALERT_SORTS: dict[str, Any] = {
    "-opened_at": Alert.opened_at.desc(),
    "opened_at": Alert.opened_at.asc(),
    "-updated_at": Alert.updated_at.desc(),
    "-value": Alert.value.desc(),
}

_ALERT_FIELDS = (
    "id", "rule_id", "kind", "scope_kind", "scope_value", "severity", "status", "opened_at",
    "updated_at", "resolved_at", "acknowledged_at", "acknowledged_by", "window_start", "window_end",
    "value", "baseline", "statistic", "details",
)  # fmt: skip


def alert_view(alert: Mapping[Any, Any]) -> dict[str, Any]:
    """An ``alerts`` row (mapping) as plain data."""
    return {name: alert[name] for name in _ALERT_FIELDS}


def list_alerts(
    conn: Connection, flt: AlertFilter, *, sort: str = "-opened_at", limit: int = 50, offset: int = 0
) -> Page:
    """Alert episodes matching ``flt``; a time range selects episodes that overlap it.

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
    base = select(Alert).where(and_(true(), *conds))
    rows = conn.execute(base.order_by(order, Alert.id.desc()).limit(limit).offset(offset)).mappings()
    return Page(items=[alert_view(a) for a in rows], total=count_rows(conn, base), limit=limit, offset=offset)


def get_alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """One alert as plain data, or None."""
    alert = conn.execute(select(Alert).where(Alert.id == alert_id)).mappings().first()
    return None if alert is None else alert_view(alert)


# --- webhooks, labels, models ---------------------------------------------------------------------


def webhook_view(sub: Mapping[Any, Any]) -> dict[str, Any]:
    """A ``webhook_subscriptions`` row as plain data; the signing secret is never returned here."""
    return {k: sub[k] for k in ("id", "url", "format", "filters", "active", "created_at")}


def list_webhooks(conn: Connection) -> list[dict[str, Any]]:
    """Every webhook subscription, oldest first, secrets left out."""
    subs = conn.execute(select(WebhookSubscription).order_by(WebhookSubscription.id)).mappings()
    return [webhook_view(s) for s in subs]


_MODEL_FIELDS = (
    "version", "status", "path", "base_model", "parent_version", "data_fingerprint", "metrics",
    "notes", "created_at", "promoted_at",
)  # fmt: skip


def model_view(mv: Mapping[Any, Any]) -> dict[str, Any]:
    """A ``model_versions`` row as plain data."""
    return {k: mv[k] for k in _MODEL_FIELDS}


def list_models(conn: Connection, *, status: str | None = None) -> list[dict[str, Any]]:
    """Registered model versions, production first, then newest first."""
    stmt = select(ModelVersion)
    if status is not None:
        stmt = stmt.where(ModelVersion.status == status)
    stmt = stmt.order_by((ModelVersion.status == "production").desc(), ModelVersion.created_at.desc())
    return [model_view(m) for m in conn.execute(stmt).mappings()]
