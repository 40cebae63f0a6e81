"""Quality of the alert rules: false alerts per day on a quiet stream, detection delay of events.

The simulator writes per-minute aggregates directly (no model, no database): tickers and topics
with their own volumes and negative shares, a day/night cycle, news arriving in clusters of
same-sentiment stories (so counts are over-dispersed like real news, not Poisson), and a share
that drifts hour to hour. The engine then runs over it with the in-memory store -- the very
code the service runs. ``finsent alerts quality`` prints the report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

import numpy as np

from finsent.alerts.engine import AlertEngine
from finsent.alerts.memory import MemoryAggregates, MemoryAlertStore
from finsent.alerts.rules import RuleSet

__all__ = ["Scenario", "SimulatedMarket", "measure", "render_report"]

T0 = datetime(2024, 1, 1, tzinfo=UTC)
WARMUP_DAYS = 7  # baseline history before evaluation starts


class SimulatedMarket:
    """Quiet per-minute aggregates for ``n_tickers`` tickers, 20 topics and the all-topics scope."""

    def __init__(self, days: float, *, n_tickers: int = 30, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.minutes = int((WARMUP_DAYS + days) * 1440)
        self.aggs = MemoryAggregates(T0, self.minutes)
        minute_of_day = np.arange(self.minutes) % 1440
        # day/night cycle: 3x more news in (UTC) market hours than at night
        self.diurnal = np.where((minute_of_day >= 13 * 60) & (minute_of_day < 21 * 60), 1.8, 0.6)
        self.tickers = [f"T{i:02d}" for i in range(n_tickers)]
        total = np.zeros((self.minutes, 5))
        for ticker in self.tickers:  # 10 to 200 articles a day
            self.aggs.add_array("entity", ticker, self._stream(self.rng.uniform(10, 200) / 1440))
        for topic in range(20):  # 50 to 150 articles a day each
            arr = self._stream(self.rng.uniform(50, 150) / 1440)
            self.aggs.add_array("topic", str(topic), arr)
            total += arr
        self.aggs.add_array("all", "*", total)

    def _stream(self, rate: float, share: float | None = None) -> np.ndarray:
        """One scope's minutes: clusters (mean size 1.5) of same-sentiment articles."""
        base = share if share is not None else float(self.rng.beta(4, 14))  # ~22% negative
        hours = self.minutes // 60 + 1
        hourly = np.clip(base * np.exp(self.rng.normal(0, 0.25, hours)), 0.01, 0.95)
        p_neg = np.repeat(hourly, 60)[: self.minutes]
        clusters = self.rng.poisson(rate * self.diurnal / 1.5)
        return self._articles(clusters, p_neg, 0.3)

    def _articles(self, clusters: np.ndarray, p_neg: np.ndarray | float, p_pos: float) -> np.ndarray:
        out = np.zeros((len(clusters), 5))
        for k in range(1, int(clusters.max(initial=0)) + 1):
            mins = np.flatnonzero(clusters >= k)
            size = self.rng.geometric(1 / 1.5, len(mins))
            u = self.rng.random(len(mins))
            pn = p_neg[mins] if isinstance(p_neg, np.ndarray) else p_neg
            neg, pos = u < pn, (u >= pn) & (u < pn + p_pos)
            neu = ~(neg | pos)
            out[mins, 0] += size
            out[mins, 1] += size * neg
            out[mins, 2] += size * neu
            out[mins, 3] += size * pos
            out[mins, 4] += size * (neg * -0.75 + pos * 0.7 + neu * self.rng.normal(0, 0.1, len(mins)))
        return out

    def burst(self, start: int, minutes: int, rate: float, p_neg: float, p_pos: float = 0.05) -> np.ndarray:
        """Extra articles at ``rate`` per minute over ``[start, start + minutes)``."""
        clusters = np.zeros(self.minutes, dtype=int)
        clusters[start : start + minutes] = self.rng.poisson(rate / 1.5, minutes)
        return self._articles(clusters, p_neg, p_pos)


@dataclass(frozen=True)
class Scenario:
    """A planted event: extra articles on one scope, from a known start."""

    name: str
    rule_id: str
    scope_kind: str
    rate: float  # extra articles per minute
    minutes: int
    p_neg: float
    p_pos: float = 0.05


DEFAULT_SCENARIOS = (
    Scenario("ticker negative burst, 0.3/min", "entity-negative-surge", "entity", 0.3, 45, 0.85),
    Scenario("ticker negative burst, 0.6/min", "entity-negative-surge", "entity", 0.6, 45, 0.85),
    Scenario("ticker negative burst, 1.5/min", "entity-negative-surge", "entity", 1.5, 45, 0.85),
    Scenario("topic negative burst, 1/min", "topic-negative-surge", "topic", 1.0, 45, 0.85),
    Scenario("ticker volume spike, 2/min", "entity-volume-spike", "entity", 2.0, 30, 0.2, 0.3),
    Scenario("market-wide negative turn, 1/min", "market-sentiment-shift", "all", 1.0, 120, 0.9),
    # the rate of `finsent run`'s planted burst (ingest/demo): enough news to show in its first minute
    Scenario("ticker negative burst, 10/min", "entity-negative-surge", "entity", 10.0, 10, 0.85),
)


def _run(rules: RuleSet, aggs: MemoryAggregates, start: datetime, end: datetime) -> MemoryAlertStore:
    store = MemoryAlertStore()
    engine = AlertEngine(rules, aggs, store)
    engine.catch_up(start, lookback=timedelta(0))
    engine.advance(end)
    return store


def _quiet(rules: RuleSet, market: SimulatedMarket, days: float) -> dict[str, Any]:
    start = T0 + timedelta(days=WARMUP_DAYS)
    store = _run(rules, market.aggs, start, start + timedelta(days=days))
    opened = [e for e in store.events if e.event == "opened"]
    by_rule = {r.id: sum(e.rule.id == r.id for e in opened) for r in rules.enabled}
    return {
        "days": days,
        "false_alerts": by_rule,
        "false_alerts_per_day": {k: v / days for k, v in by_rule.items()},
        "total_per_day": len(opened) / days,
        "notified_per_day": sum(e.notified for e in opened) / days,
    }


def _plants(market: SimulatedMarket, scenario: Scenario, count: int) -> Iterator[tuple[str, int]]:
    values = {"entity": market.tickers, "topic": [str(t) for t in range(20)], "all": ["*"]}[
        scenario.scope_kind
    ]
    first = WARMUP_DAYS * 1440 + 180
    span = market.minutes - first - 600
    for i in range(count):
        yield values[i % len(values)], first + int(market.rng.integers(0, span))


def _planted(rules: RuleSet, market: SimulatedMarket, scenario: Scenario, count: int) -> dict[str, Any]:
    rule = rules.by_id.get(scenario.rule_id)
    if rule is None:
        return {"scenario": scenario.name, "rule": scenario.rule_id, "skipped": "rule not in the rule set"}
    single = RuleSet((rule,), rules.source, rules.topic_labels)
    delays: list[float] = []
    for value, start in _plants(market, scenario, count):
        extra = market.burst(start, scenario.minutes, scenario.rate, scenario.p_neg, scenario.p_pos)
        market.aggs.add_array(scenario.scope_kind, value, extra)
        if scenario.scope_kind == "topic":
            market.aggs.add_array("all", "*", extra)
        t_start = T0 + timedelta(minutes=start)
        shown = {"topic": rules.topic_label(int(value)) if value.isdigit() else value, "all": "all"}.get(
            scenario.scope_kind, value
        )
        store = _run(single, market.aggs, t_start - timedelta(hours=2), t_start + timedelta(hours=4))
        market.aggs.add_array(scenario.scope_kind, value, -extra)
        if scenario.scope_kind == "topic":
            market.aggs.add_array("all", "*", -extra)
        hits = [
            e.state.opened_at
            for e in store.events
            if e.event == "opened" and e.state.scope_value == shown and e.state.opened_at > t_start
        ]
        if hits:
            delays.append((min(hits) - t_start) / timedelta(minutes=1))
    window_min = rule.window / timedelta(minutes=1)
    return {
        "scenario": scenario.name,
        "rule": rule.id,
        "step_s": rule.every.total_seconds(),
        "events": count,
        "detected": len(delays),
        "detection_rate": len(delays) / count,
        "delay_min_median": median(delays) if delays else None,
        "delay_min_max": max(delays) if delays else None,
        **_delay_seconds(delays),
        "within_two_windows": sum(d <= 2 * window_min for d in delays) / count,
        "within_one_minute": sum(d <= 2 for d in delays) / count,
    }


def _delay_seconds(delays: list[float]) -> dict[str, float | None]:
    """Delay figures in seconds over the detected events.

    ``delay_s_*`` count from the event's start (the end of its first minute is 60 s, the earliest
    a per-minute aggregate can show it); ``after_first_minute_s_*`` count from that first minute's
    close, which is what "alert within a minute" is measured against. Event time: the live
    service adds its watermark lateness (``alerts.watermark_lateness``, 5 s by default) to each.
    """
    if not delays:
        return dict.fromkeys(
            ("delay_s_median", "delay_s_p90", "after_first_minute_s_median", "after_first_minute_s_p90")
        )
    secs = np.asarray(delays, dtype=float) * 60
    med, p90 = float(np.median(secs)), float(np.percentile(secs, 90))
    return {
        "delay_s_median": med,
        "delay_s_p90": p90,
        "after_first_minute_s_median": med - 60,
        "after_first_minute_s_p90": p90 - 60,
    }


def measure(
    rules: RuleSet,
    *,
    quiet_days: float = 7.0,
    events_per_scenario: int = 20,
    seed: int = 7,
    n_tickers: int = 30,
    scenarios: tuple[Scenario, ...] = DEFAULT_SCENARIOS,
) -> dict[str, Any]:
    """False alerts per day on a quiet simulated stream, detection rate and delay of planted events."""
    market = SimulatedMarket(quiet_days, n_tickers=n_tickers, seed=seed)
    return {
        "seed": seed,
        "rules": rules.source,
        "quiet": _quiet(rules, market, quiet_days),
        "planted": [_planted(rules, market, s, events_per_scenario) for s in scenarios],
    }


def render_report(report: dict[str, Any]) -> str:
    """The report as plain text."""
    quiet = report["quiet"]
    lines = [f"Quiet stream, {quiet['days']:g} days: {quiet['total_per_day']:.2f} false alerts/day"]
    lines += [f"  {rule}: {n:.2f}/day" for rule, n in quiet["false_alerts_per_day"].items()]
    lines.append(
        "Planted events (delay in seconds after the close of the event's first minute, "
        "median / p90 of the detected; event time):"
    )
    for p in report["planted"]:
        if "skipped" in p:
            lines.append(f"  {p['scenario']}: skipped ({p['skipped']})")
            continue
        med, p90 = (
            "-" if p.get(key) is None else f"{p[key]:.0f}"
            for key in ("after_first_minute_s_median", "after_first_minute_s_p90")
        )
        worst = "-" if p["delay_min_max"] is None else f"{p['delay_min_max'] * 60 - 60:.0f}"
        lines.append(
            f"  {p['scenario']} [{p['rule']}]: detected {p['detected']}/{p['events']}, "
            f"delay median {med} s p90 {p90} s max {worst} s, "
            f"within two windows {p['within_two_windows']:.0%}"
        )
    return "\n".join(lines)
