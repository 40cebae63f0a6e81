"""The ``retrain_failed`` alert: a failed retraining run notifies through the webhook outbox.

One live alert episode (rule ``retrain_failed``, scope ``all:retrain``) at a time: a failure opens
it, further failures update it (``value`` counts them), the next completed run resolves it. The
alert row and its webhook deliveries are written in one transaction, as the alerts stage does.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

__all__ = ["FAILURE_RULE", "raise_failure_alert", "resolve_failure_alert"]

log = logging.getLogger(__name__)

#: Rule id of the alert a failed run opens (one live episode until a run succeeds).
FAILURE_RULE = "retrain_failed"


def _alert_view(row: dict[str, Any]) -> dict[str, Any]:
    def iso(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return {
        "id": row["id"], "rule_id": row["rule_id"], "kind": row["kind"],
        "description": "A model retraining run failed; production is unchanged.",
        "severity": row["severity"], "status": row["status"],
        "scope": {"kind": row["scope_kind"], "value": row["scope_value"]},
        "opened_at": iso(row["opened_at"]), "window_start": iso(row["window_start"]),
        "window_end": iso(row["window_end"]), "value": row["value"], "baseline": None,
        "statistic": None, "details": row["details"], "top_articles": [],
    }  # fmt: skip


def _notify(conn: Any, alert_id: int, event: str) -> None:
    from finsent.alerts.webhooks import render_payload, subscription_matches
    from finsent.storage import alerts_repo

    view = _alert_view(alerts_repo.get_alert(conn, alert_id) or {})
    for sub in alerts_repo.list_subscriptions(conn):
        if subscription_matches(sub["filters"] or {}, event, view):
            payload = render_payload(sub["format"], event, view)
            alerts_repo.enqueue_delivery(conn, sub["id"], alert_id, event, payload)


def raise_failure_alert(
    engine: Engine,
    run_id: str,
    error: str,
    *,
    report_path: Path | None = None,
    started_at: datetime | None = None,
    deliver: bool = True,
) -> int:
    """Open (or update) the ``retrain_failed`` alert and enqueue its webhook deliveries.

    The alert row and its deliveries are written in one transaction (the alerts stage's outbox);
    with ``deliver`` the due deliveries are also sent at once (the alerts service retries the
    ones that fail).

    Returns:
        The alert's id.
    """
    from finsent.storage import alerts_repo

    now = datetime.now(UTC)
    details = {"run_id": run_id, "error": error[:2000], "report": str(report_path) if report_path else None}
    with engine.begin() as conn:
        live = [a for a in alerts_repo.latest_alerts(conn, FAILURE_RULE, "all") if a["status"] != "resolved"]
        if live:
            alert_id, event = int(live[0]["id"]), "updated"
            failures = float(live[0]["value"]) + 1
            alerts_repo.update_alert(
                conn, alert_id, {"value": failures, "window_end": now, "updated_at": now, "details": details}
            )
        else:
            event = "opened"
            alert_id = alerts_repo.insert_alert(
                conn,
                {
                    "rule_id": FAILURE_RULE, "kind": "retrain", "scope_kind": "all",
                    "scope_value": "retrain", "severity": "critical", "status": "open",
                    "window_start": started_at or now, "window_end": now, "value": 1.0,
                    "details": details, "last_notified_at": now,
                },
            )  # fmt: skip
        _notify(conn, alert_id, event)
    if deliver:
        _deliver_now(engine)
    return alert_id


def resolve_failure_alert(engine: Engine, run_id: str) -> int | None:
    """Resolve a live ``retrain_failed`` alert after a successful run; its id, or None."""
    from finsent.storage import alerts_repo

    now = datetime.now(UTC)
    with engine.begin() as conn:
        live = [a for a in alerts_repo.latest_alerts(conn, FAILURE_RULE, "all") if a["status"] != "resolved"]
        if not live:
            return None
        alert_id = int(live[0]["id"])
        details = {**(live[0]["details"] or {}), "resolved_by_run": run_id}
        alerts_repo.update_alert(
            conn, alert_id, {"status": "resolved", "resolved_at": now, "updated_at": now, "details": details}
        )
        _notify(conn, alert_id, "resolved")
    return alert_id


def _deliver_now(engine: Engine) -> None:
    import asyncio

    from finsent.alerts.webhooks import DeliveryWorker

    try:
        asyncio.run(DeliveryWorker(engine, timeout_s=10.0).run_once())
    except Exception:  # pending deliveries stay queued for the alerts service
        log.exception("sending the retrain alert's webhooks failed; they stay queued")
