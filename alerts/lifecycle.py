"""Alert lifecycle as a pure state machine: one alert per (rule, scope) episode.

``decide`` turns "what the detector saw in the window that just closed" plus "the latest alert
of this (rule, scope)" into a :class:`Change`: open, update, count a normal window, resolve, or
nothing. Times are *event* times (the window's end), so catch-up after a restart and the
quality simulation reach the same decisions as the live service.

Notifications: ``opened`` when an episode starts, unless the previous episode of the same
(rule, scope) notified inside the cooldown (flapping); ``updated`` while the anomaly lasts, at
most once per cooldown and never once acknowledged; ``resolved`` when ``resolve_after``
consecutive whole windows are normal again (with sliding windows: that many windows' worth of
consecutive normal evaluations, so overlapping windows of one surge stay one episode).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from finsent.alerts.detectors import Detection
from finsent.alerts.rules import AnyRule

__all__ = ["LIVE_STATUSES", "AlertState", "Change", "decide"]

LIVE_STATUSES = ("open", "acknowledged")
Action = Literal["open", "update", "quiet", "resolve"]


@dataclass(frozen=True)
class AlertState:
    """The latest alert of one (rule, scope), live or resolved, as the lifecycle needs it."""

    id: int | None
    rule_id: str
    scope_kind: str
    scope_value: str
    status: str
    opened_at: datetime
    window_start: datetime
    window_end: datetime
    last_notified_at: datetime | None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """True while the episode is not resolved."""
        return self.status in LIVE_STATUSES

    @property
    def checked_until(self) -> datetime:
        """End of the last window the lifecycle applied to this alert (catch-up idempotency)."""
        raw = self.details.get("checked_until")
        return datetime.fromisoformat(raw) if isinstance(raw, str) else self.window_end


@dataclass(frozen=True)
class Change:
    """One decision for one (rule, scope) at one window end; ``state`` is the alert afterwards."""

    action: Action
    state: AlertState
    detection: Detection | None
    notify: Literal["opened", "updated", "resolved"] | None


def decide(
    rule: AnyRule,
    scope_value: str,
    latest: AlertState | None,
    detection: Detection,
    window_start: datetime,
    window_end: datetime,
) -> Change | None:
    """The lifecycle step for one (rule, scope) after the window ``[window_start, window_end)``.

    Returns None when nothing changes (no live alert and no anomaly, or the window was already
    applied to this alert before a restart).
    """
    if latest is not None and latest.checked_until >= window_end:
        return None
    live = latest if latest is not None and latest.live else None
    if live is None:
        if not detection.fired:
            return None
        return _open(rule, scope_value, latest, detection, window_start, window_end)
    if detection.fired:
        return _update(rule, live, detection, window_end)
    quiet = int(live.details.get("quiet_windows", 0)) + 1
    details = {**live.details, "quiet_windows": quiet, "checked_until": window_end.isoformat()}
    if quiet < rule.resolve_evaluations:
        return Change("quiet", replace(live, details=details), detection, None)
    details["resolved_window_end"] = window_end.isoformat()
    return Change("resolve", replace(live, status="resolved", details=details), detection, "resolved")


def _open(
    rule: AnyRule,
    scope_value: str,
    previous: AlertState | None,
    detection: Detection,
    window_start: datetime,
    window_end: datetime,
) -> Change:
    recently = (
        previous is not None
        and previous.last_notified_at is not None
        and window_end - previous.last_notified_at < rule.cooldown
    )
    details = {
        **detection.details,
        "checked_until": window_end.isoformat(),
        "quiet_windows": 0,
        "windows_fired": 1,
        "peak_statistic": detection.statistic,
        "suppressed_by_cooldown": recently,
    }
    state = AlertState(
        id=None,
        rule_id=rule.id,
        scope_kind=rule.scope.kind,
        scope_value=scope_value,
        status="open",
        opened_at=window_end,
        window_start=window_start,
        window_end=window_end,
        last_notified_at=(previous.last_notified_at if previous else None) if recently else window_end,
        details=details,
    )
    return Change("open", state, detection, None if recently else "opened")


def _update(rule: AnyRule, live: AlertState, detection: Detection, window_end: datetime) -> Change:
    due = live.last_notified_at is None or window_end - live.last_notified_at >= rule.cooldown
    notify = live.status == "open" and due
    peak = live.details.get("peak_statistic")
    stat = detection.statistic
    details = {
        **live.details,
        **detection.details,
        "checked_until": window_end.isoformat(),
        "quiet_windows": 0,
        "windows_fired": int(live.details.get("windows_fired", 1)) + 1,
        "peak_statistic": stat if peak is None or (stat is not None and stat > peak) else peak,
    }
    state = replace(
        live,
        window_end=window_end,
        last_notified_at=window_end if notify else live.last_notified_at,
        details=details,
    )
    return Change("update", state, detection, "updated" if notify else None)
