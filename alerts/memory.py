"""In-memory aggregate reader and alert store: the engine without a database.

Used by the quality simulation (weeks of per-minute buckets in a second) and by unit tests of
the engine. Same protocols as the PostgreSQL-backed ones in :mod:`alerts.store`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from finsent.alerts.detectors import Counts
from finsent.alerts.engine import AlertEvent
from finsent.alerts.lifecycle import AlertState, Change
from finsent.alerts.rules import Rule
from finsent.core.alerts import AlertEventName, AlertPayload

__all__ = ["MemoryAggregates", "MemoryAlertStore"]

_FIELDS = 5  # n, n_negative, n_neutral, n_positive, sum_score


class MemoryAggregates:
    """Per-minute buckets on a fixed grid ``[start, start + minutes)``, per scope kind and value."""

    def __init__(self, start: datetime, minutes: int) -> None:
        self.start = start
        self.minutes = minutes
        self._data: dict[tuple[str, str], np.ndarray] = {}
        self._cum: dict[tuple[str, str], np.ndarray] = {}

    def add(self, scope_kind: str, value: str, minute: int, counts: Counts) -> None:
        """Add one bucket's counts (minute index from ``start``)."""
        key = (scope_kind, value)
        arr = self._data.setdefault(key, np.zeros((self.minutes, _FIELDS)))
        arr[minute] += (counts.n, counts.n_negative, counts.n_neutral, counts.n_positive, counts.sum_score)
        self._cum.pop(key, None)

    def add_array(self, scope_kind: str, value: str, array: np.ndarray) -> None:
        """Add a whole ``(minutes, 5)`` array of buckets at once."""
        key = (scope_kind, value)
        self._data[key] = self._data.get(key, np.zeros((self.minutes, _FIELDS))) + array
        self._cum.pop(key, None)

    def _cumsum(self, key: tuple[str, str]) -> np.ndarray:
        if key not in self._cum:
            cum = np.zeros((self.minutes + 1, _FIELDS))
            np.cumsum(self._data[key], axis=0, out=cum[1:])
            self._cum[key] = cum
        return self._cum[key]

    def _index(self, when: datetime) -> int:
        return min(max(int((when - self.start) // timedelta(minutes=1)), 0), self.minutes)

    @staticmethod
    def _rows(sums: np.ndarray) -> list[list[float]]:
        # differences of float cumsums: round off the noise (counts may be relevance-weighted)
        out: list[list[float]] = np.round(sums, 9).tolist()
        return out

    def totals(
        self, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None
    ) -> dict[str, Counts]:
        """Sums per scope value over ``[start, end)``; values without data are left out."""
        lo, hi = self._index(start), self._index(end)
        out: dict[str, Counts] = {}
        for kind, value in self._data:
            if kind != scope_kind or (values is not None and value not in values):
                continue
            cum = self._cumsum((kind, value))
            row: list[float] = np.round(cum[hi] - cum[lo], 9).tolist()
            if row[0]:
                out[value] = Counts(*row)
        return out

    def _edges(self, start: datetime, width: timedelta, count: int) -> np.ndarray:
        step = int(width // timedelta(minutes=1))
        first = int((start - self.start) // timedelta(minutes=1))
        return np.clip(first + step * np.arange(count + 1), 0, self.minutes)

    def series(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, dict[int, Counts]]:
        """Sums per value per window ``i`` of ``width`` from ``start`` (empty windows left out)."""
        edges = self._edges(start, width, count)
        out: dict[str, dict[int, Counts]] = {}
        for value in values:
            if (scope_kind, value) not in self._data:
                continue
            rows = self._rows(np.diff(self._cumsum((scope_kind, value))[edges], axis=0))
            out[value] = {i: Counts(*row) for i, row in enumerate(rows) if row[0] > 1e-9}
        return out

    def volumes(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, list[float]]:
        """Article count per value per window ``i`` of ``width`` from ``start`` (zeros included)."""
        edges = self._edges(start, width, count)
        out: dict[str, list[float]] = {}
        for value in values:
            if (scope_kind, value) in self._data:
                sums = np.diff(self._cumsum((scope_kind, value))[edges, 0])
                out[value] = np.round(sums, 9).tolist()
        return out

    def top_articles(
        self, scope_kind: str, value: str, start: datetime, end: datetime, order: str, limit: int
    ) -> list[dict[str, Any]]:
        """No articles are kept in memory."""
        return []


class MemoryAlertStore:
    """Keeps every alert and every event in lists (the quality report counts them)."""

    def __init__(self) -> None:
        self.alerts: dict[int, AlertState] = {}
        self.events: list[AlertEvent] = []
        self._latest: dict[tuple[str, str, str], int] = {}

    def latest(self, rule_id: str, scope_kind: str) -> dict[str, AlertState]:
        """Latest alert per scope value of a rule."""
        return {
            value: self.alerts[alert_id]
            for (rid, kind, value), alert_id in self._latest.items()
            if rid == rule_id and kind == scope_kind
        }

    def apply(self, rule: Rule, changes: Sequence[Change]) -> list[AlertEvent]:
        """Store the changes and return the events (``quiet`` changes produce no event)."""
        out = []
        for change in changes:
            state = change.state
            if change.action == "open":
                state = replace(state, id=len(self.alerts) + 1)
                self._latest[(rule.id, state.scope_kind, state.scope_value)] = state.id or 0
            assert state.id is not None
            self.alerts[state.id] = state
            if change.action != "quiet":
                notified = change.notify is not None
                payload = _payload(rule, state, change)
                name = _EVENT[change.action]
                event = AlertEvent(name, state.id, rule, state, change.detection, notified, payload)
                out.append(event)
        self.events.extend(out)
        return out

    def acknowledge(self, alert_id: int) -> None:
        """Mark a live alert acknowledged."""
        self.alerts[alert_id] = replace(self.alerts[alert_id], status="acknowledged")


_EVENT: dict[str, AlertEventName] = {"open": "opened", "update": "updated", "resolve": "resolved"}


def _payload(rule: Rule, state: AlertState, change: Change) -> AlertPayload:
    # The row this store would have written, so events look as they do from the database.
    det = change.detection
    row = {
        "id": state.id,
        "rule_id": rule.id,
        "kind": rule.kind,
        "scope_kind": state.scope_kind,
        "scope_value": state.scope_value,
        "severity": rule.severity,
        "status": state.status,
        "opened_at": state.opened_at,
        "window_start": state.window_start,
        "window_end": state.window_end,
        "value": det.value if det is not None else 0.0,
        "baseline": det.baseline if det is not None else None,
        "statistic": det.statistic if det is not None else None,
        "details": state.details,
    }
    return AlertPayload.from_row(row, description=rule.description)
