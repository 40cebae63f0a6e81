"""The rule engine: evaluates every rule when one of its windows closes, and catches up on start.

The stream stage (or ``finsent alerts run``) calls :meth:`AlertEngine.advance` with a watermark:
"per-minute aggregates are complete up to here". The engine evaluates each rule's windows that
ended since the last call (rule windows are aligned to multiples of the rule's step since the
epoch), applies the lifecycle, stores alerts and enqueues webhook deliveries through an
:class:`AlertStore`, and publishes the events. It reads aggregates through an
:class:`AggregateReader`, never raw scores (only the top articles of a firing window).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from finsent.alerts.detectors import (
    Counts,
    Detection,
    detect_negative_surge,
    detect_sentiment_shift,
    detect_threshold,
    detect_volume_spike,
)
from finsent.alerts.exceptions import RuleFileError
from finsent.alerts.lifecycle import AlertState, Change, decide
from finsent.alerts.rules import (
    AnyRule,
    NegativeSurgeRule,
    Rule,
    RuleSet,
    SentimentShiftRule,
    ThresholdRule,
    VolumeSpikeRule,
    load_rules,
)
from finsent.core.alerts import AlertEventName, AlertPayload

__all__ = ["AggregateReader", "AlertEngine", "AlertEvent", "AlertPublisher", "AlertStore", "window_ends"]

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AggregateReader(Protocol):
    """Read access to per-minute aggregates. Scope values: topic id, ticker, source id, ``*`` for all."""

    def totals(
        self, scope_kind: str, start: datetime, end: datetime, values: Collection[str] | None
    ) -> dict[str, Counts]:
        """Sums per scope value over ``[start, end)`` (only values with data; ``values`` filters)."""
        ...

    def series(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, dict[int, Counts]]:
        """Sums per scope value per window ``i`` = ``[start + i*width, start + (i+1)*width)``."""
        ...

    def volumes(
        self, scope_kind: str, start: datetime, width: timedelta, count: int, values: Collection[str]
    ) -> dict[str, list[float]]:
        """Article count ``n`` per window ``i`` (zeros included, oldest first) per scope value.

        What the volume rule needs of :meth:`series`, cheaper: a sliding rule asks for a week of
        15-minute windows at every minute close.
        """
        ...

    def top_articles(
        self, scope_kind: str, value: str, start: datetime, end: datetime, order: str, limit: int
    ) -> list[dict[str, Any]]:
        """Articles of one scope in the window: ``order`` is negative | positive | extreme."""
        ...


@dataclass(frozen=True)
class AlertEvent:
    """A stored lifecycle change, as published and notified."""

    event: AlertEventName
    alert_id: int
    rule: AnyRule
    state: AlertState
    detection: Detection | None
    notified: bool
    payload: AlertPayload


class AlertStore(Protocol):
    """Where alerts live; applies changes (and enqueues their notifications) atomically."""

    def latest(self, rule_id: str, scope_kind: str) -> dict[str, AlertState]:
        """Latest alert (live or resolved) per scope value of a rule."""
        ...

    def apply(self, rule: Rule, changes: Sequence[Change]) -> list[AlertEvent]:
        """Write the changes; enqueue deliveries for those with ``notify``; return the events."""
        ...


class AlertPublisher(Protocol):
    """Publishes alert events (e.g. as AlertRecord to the alerts topic)."""

    def publish(self, events: Sequence[AlertEvent]) -> None:
        """Send the events; must not raise for a broker that is down (log instead)."""
        ...


def window_ends(every: timedelta, after: datetime, until: datetime) -> Iterator[datetime]:
    """Window ends aligned to multiples of ``every`` since the epoch, in ``(after, until]``.

    With ``every`` = one minute (a sliding rule) that is every minute close.
    """
    first = EPOCH + ((after - EPOCH) // every + 1) * every
    end = first
    while end <= until:
        yield end
        end += every


class AlertEngine:
    """Evaluates rules over aggregates and drives the alert lifecycle (thread-safe)."""

    def __init__(
        self,
        rules: RuleSet,
        reader: AggregateReader,
        store: AlertStore,
        *,
        publisher: AlertPublisher | None = None,
        top_n: int = 5,
    ) -> None:
        self.rules = rules
        self.reader = reader
        self.store = store
        self.publisher = publisher
        self.top_n = top_n
        self._cursor: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def advance(self, watermark: datetime) -> list[AlertEvent]:
        """Evaluate every rule window that ended in (last call, ``watermark``].

        The per-window hook for the stream stage: call it (off the event loop) after the
        aggregates of every minute before ``watermark`` are written. A rule seen for the first
        time evaluates only its latest closed window; use :meth:`catch_up` on start-up.
        """
        events: list[AlertEvent] = []
        with self._lock:
            for rule in self.rules.enabled:
                cursor = self._cursor.get(rule.id, watermark - rule.every)
                for end in window_ends(rule.every, cursor, watermark):
                    events.extend(self.evaluate(rule, end))
                    self._cursor[rule.id] = end
        if events and self.publisher is not None:
            self.publisher.publish(events)
        return events

    def catch_up(self, now: datetime, lookback: timedelta = timedelta(hours=24)) -> list[AlertEvent]:
        """On start-up: evaluate the windows of the last ``lookback`` that were missed while down.

        Windows already applied to an alert before the restart are skipped (each alert records
        the last window it saw), so re-running the catch-up never duplicates alerts or messages.
        """
        with self._lock:
            for rule in self.rules.enabled:
                self._cursor[rule.id] = min(self._cursor.get(rule.id, now), now - lookback)
        return self.advance(now)

    def reload(self, path: Path | str | None) -> RuleSet:
        """Load a new rule file; on any error keep the running set and re-raise.

        Raises:
            RuleFileError: the file is invalid (the running rules stay in force).
        """
        try:
            new = load_rules(path, topic_labels=self.rules.topic_labels)
        except RuleFileError:
            log.error("rule reload from %s rejected; keeping %d running rules", path, len(self.rules.rules))
            raise
        with self._lock:
            self.rules = new
        return new

    def evaluate(self, rule: Rule, end: datetime) -> list[AlertEvent]:
        """Evaluate one rule on the window ending at ``end`` and store the lifecycle changes."""
        start = end - rule.window
        kind = rule.scope.kind
        fixed = None if rule.scope.wildcard else self._raw(rule, rule.scope.value)
        window = self.reader.totals(kind, start, end, None if fixed is None else {fixed})
        latest = self.store.latest(rule.id, kind)
        if fixed is not None:
            shown = self._display(rule, fixed)
            latest = {shown: latest[shown]} if shown in latest else {}
        raw_values = set(window) | {self._raw(rule, v) for v, s in latest.items() if s.live}
        if fixed is not None:
            raw_values.add(fixed)
        if not raw_values:
            return []
        detections = self._detect(rule, start, window, sorted(raw_values))
        changes: list[Change] = []
        for raw, detection in detections.items():
            shown = self._display(rule, raw)
            change = decide(rule, shown, latest.get(shown), detection, start, end)
            if change is None:
                continue
            if change.action in ("open", "update"):
                change = self._with_top_articles(rule, raw, start, end, change)
            changes.append(change)
        return self.store.apply(rule, changes) if changes else []

    def _detect(
        self, rule: Rule, start: datetime, window: dict[str, Counts], values: list[str]
    ) -> dict[str, Detection]:
        kind = rule.scope.kind
        current = {v: window.get(v, Counts()) for v in values}
        if isinstance(rule, NegativeSurgeRule):
            base = self.reader.totals(kind, start - rule.baseline, start, values)
            return {v: detect_negative_surge(rule, c, base.get(v, Counts())) for v, c in current.items()}
        if isinstance(rule, VolumeSpikeRule | SentimentShiftRule):
            # history: the whole windows before this one, ending where it starts (sliding too)
            count = max(int(rule.baseline / rule.window), 1)
            first = start - count * rule.window
            if isinstance(rule, VolumeSpikeRule):
                volumes = self.reader.volumes(kind, first, rule.window, count, values)
                empty = [0.0] * count
                return {v: detect_volume_spike(rule, c, volumes.get(v, empty)) for v, c in current.items()}
            series = self.reader.series(kind, first, rule.window, count, values)
            out: dict[str, Detection] = {}
            for v, c in current.items():
                history = [series.get(v, {}).get(i, Counts()) for i in range(count)]
                out[v] = detect_sentiment_shift(rule, c, history)
            return out
        assert isinstance(rule, ThresholdRule)
        return {v: detect_threshold(rule, c) for v, c in current.items()}

    def _with_top_articles(
        self, rule: Rule, raw: str, start: datetime, end: datetime, change: Change
    ) -> Change:
        order = _article_order(rule, change.detection)
        try:
            top = self.reader.top_articles(rule.scope.kind, raw, start, end, order, self.top_n)
        except Exception:  # details are a nicety: never lose the alert over them
            log.exception("top articles of %s/%s failed", rule.id, raw)
            top = []
        details = {**change.state.details, "top_articles": top}
        if rule.scope.kind == "topic":
            details["topic_id"] = int(raw)
        state = AlertState(**{**change.state.__dict__, "details": details})
        return Change(change.action, state, change.detection, change.notify)

    def _display(self, rule: Rule, raw: str) -> str:
        if rule.scope.kind == "topic" and raw.isdigit():
            return self.rules.topic_label(int(raw))
        return "all" if rule.scope.kind == "all" else raw

    def _raw(self, rule: Rule, shown: str) -> str:
        if rule.scope.kind == "topic":
            return str(self.rules.topic_id(shown))
        return "*" if rule.scope.kind == "all" else shown


def _article_order(rule: Rule, detection: Detection | None) -> str:
    if isinstance(rule, NegativeSurgeRule):
        return "negative"
    if isinstance(rule, SentimentShiftRule) and detection is not None and detection.statistic is not None:
        return "positive" if detection.statistic > 0 else "negative"
    if isinstance(rule, ThresholdRule):
        if "positive" in rule.metric:
            return "positive"
        return "negative" if "negative" in rule.metric else "extreme"
    return "extreme"
