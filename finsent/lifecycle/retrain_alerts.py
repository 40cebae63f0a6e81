"""The ``retrain_failed`` alert: a failed retraining run notifies like every other alert.

A failed run is an event of the :data:`RETRAIN_FAILED` rule (an
:class:`~finsent.alerts.rules.EventRule`, scope ``all:retrain``); the alerts stage's own lifecycle
(:func:`~finsent.alerts.lifecycle.decide`) and store (:class:`~finsent.alerts.store.DbAlertStore`,
whose outbox writes the alert row and its webhook deliveries in one transaction) do the rest:
a failure opens the episode, further failures update it (``value`` counts them), the next
completed run resolves it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from finsent.alerts.detectors import Detection
from finsent.alerts.lifecycle import AlertState, decide
from finsent.alerts.rules import EventRule
from finsent.alerts.store import DbAlertStore
from finsent.alerts.webhooks import DeliveryWorker
from finsent.core.netguard import AddressPolicy

__all__ = ["FAILURE_RULE", "RETRAIN_FAILED", "raise_failure_alert", "resolve_failure_alert"]

log = logging.getLogger(__name__)

#: Rule id of the alert a failed run opens (one live episode until a run succeeds).
FAILURE_RULE = "retrain_failed"
#: The rule failed runs fire: every failure notifies (no cooldown); one good run resolves.
RETRAIN_FAILED = EventRule.model_validate(
    {
        "id": FAILURE_RULE,
        "kind": "retrain",
        "description": "A model retraining run failed; production is unchanged.",
        "scope": {"kind": "all"},
        "severity": "critical",
        "cooldown": timedelta(0),
        "resolve_after": 1,
    }
)
_SCOPE_VALUE = "retrain"


def _latest(store: DbAlertStore) -> AlertState | None:
    return store.latest(RETRAIN_FAILED.id, RETRAIN_FAILED.scope.kind).get(_SCOPE_VALUE)


def raise_failure_alert(
    engine: Engine,
    run_id: str,
    error: str,
    *,
    report_path: Path | None = None,
    started_at: datetime | None = None,
    deliver: bool = True,
    guard: AddressPolicy | None = None,
) -> int | None:
    """Open (or update) the ``retrain_failed`` alert and enqueue its webhook deliveries.

    With ``deliver`` the due deliveries are also sent at once (the alerts service retries the
    ones that fail); ``guard`` says where they may go (default: public addresses only).

    Returns:
        The alert's id (None if another writer opened the episode at the same moment).
    """
    store = DbAlertStore(engine)
    latest = _latest(store)
    now = datetime.now(UTC)
    failures = int(latest.details.get("windows_fired", 0)) + 1 if latest is not None and latest.live else 1
    details = {"run_id": run_id, "error": error[:2000], "report": str(report_path) if report_path else None}
    detection = Detection(fired=True, value=float(failures), details=details)
    change = decide(RETRAIN_FAILED, _SCOPE_VALUE, latest, detection, started_at or now, now)
    events = store.apply(RETRAIN_FAILED, [change]) if change is not None else []
    if deliver:
        _deliver_now(engine, guard or AddressPolicy.for_webhooks())
    return events[0].alert_id if events else None


def resolve_failure_alert(engine: Engine, run_id: str) -> int | None:
    """Resolve a live ``retrain_failed`` alert after a successful run; its id, or None."""
    store = DbAlertStore(engine)
    latest = _latest(store)
    if latest is None or not latest.live:
        return None
    quiet = Detection(fired=False, value=0.0)
    change = decide(RETRAIN_FAILED, _SCOPE_VALUE, latest, quiet, latest.window_end, datetime.now(UTC))
    if change is None:
        return None
    state = replace(change.state, details={**change.state.details, "resolved_by_run": run_id})
    events = store.apply(RETRAIN_FAILED, [replace(change, state=state)])
    return events[0].alert_id if events else None


def _deliver_now(engine: Engine, guard: AddressPolicy) -> None:
    try:
        asyncio.run(DeliveryWorker(engine, timeout_s=10.0, guard=guard).run_once())
    except Exception:  # pending deliveries stay queued for the alerts service
        log.exception("sending the retrain alert's webhooks failed; they stay queued")
