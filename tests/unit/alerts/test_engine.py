"""Engine + lifecycle on in-memory aggregates: one alert per episode, cooldown, resolve, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finsent.alerts.detectors import Counts
from finsent.alerts.engine import AlertEngine, window_ends
from finsent.alerts.exceptions import RuleFileError
from finsent.alerts.memory import MemoryAggregates, MemoryAlertStore
from finsent.alerts.rules import parse_rules

T0 = datetime(2024, 3, 4, tzinfo=UTC)
DAY = 1440
RULES = """
rules:
  - id: surge
    kind: negative_surge
    scope: {kind: entity, value: "*"}
    window: 15m
    cooldown: 2h
    min_count: 8
"""


def quiet_aggregates(days: int = 3) -> MemoryAggregates:
    """Two tickers with one article a minute, every fifth negative."""
    aggs = MemoryAggregates(T0, days * DAY)
    for ticker in ("AAA", "BBB"):
        for m in range(days * DAY):
            neg = int(m % 5 == 0)
            aggs.add("entity", ticker, m, Counts(1, neg, 1 - neg, 0, -0.8 * neg))
    return aggs


def burst(aggs: MemoryAggregates, ticker: str, start: int, minutes: int, per_minute: int = 2) -> None:
    for m in range(start, start + minutes):
        aggs.add("entity", ticker, m, Counts(per_minute, per_minute, 0, 0, -0.9 * per_minute))


def make(aggs: MemoryAggregates, text: str = RULES) -> tuple[AlertEngine, MemoryAlertStore]:
    store = MemoryAlertStore()
    return AlertEngine(parse_rules(text), aggs, store), store


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def run(engine: AlertEngine, start_min: int, end_min: int) -> None:
    engine.catch_up(at(start_min), lookback=timedelta(0))
    engine.advance(at(end_min))


def test_window_ends_are_aligned() -> None:
    ends = list(window_ends(timedelta(minutes=15), at(7), at(46)))
    assert ends == [at(15), at(30), at(45)]
    assert list(window_ends(timedelta(minutes=15), at(15), at(15))) == []


def test_quiet_stream_raises_nothing() -> None:
    engine, store = make(quiet_aggregates())
    run(engine, 2 * DAY, 3 * DAY)
    assert store.events == []


def test_burst_opens_one_alert_updates_silently_and_resolves() -> None:
    aggs = quiet_aggregates()
    start = 2 * DAY + 100  # 100 = 6*15 + 10: mid-window
    burst(aggs, "AAA", start, 40)
    engine, store = make(aggs)
    run(engine, 2 * DAY, 3 * DAY)
    kinds = [(e.event, e.state.scope_value, e.notified) for e in store.events]
    assert kinds[0] == ("opened", "AAA", True)
    assert all(v == "AAA" for _, v, _ in kinds)
    assert [k for k, _, _ in kinds].count("opened") == 1
    assert all(not n for k, _, n in kinds if k == "updated")  # inside the 2h cooldown
    assert kinds[-1][0] == "resolved"
    opened = store.events[0].state
    assert opened.opened_at - at(start) <= timedelta(minutes=30)  # within two windows
    resolved_at = store.events[-1].state.details["resolved_window_end"]
    assert datetime.fromisoformat(resolved_at) > at(start + 40)


def test_update_notifies_again_after_cooldown_unless_acknowledged() -> None:
    aggs = quiet_aggregates()
    burst(aggs, "AAA", 2 * DAY, 200)
    text = RULES.replace("cooldown: 2h", "cooldown: 1h")
    engine, store = make(aggs, text)
    run(engine, 2 * DAY, 2 * DAY + 75)
    notified = [e.event for e in store.events if e.notified]
    assert notified == ["opened", "updated"]  # at +15 and +75
    store.acknowledge(store.events[0].alert_id)
    engine.advance(at(2 * DAY + 180))
    assert [e.event for e in store.events if e.notified] == ["opened", "updated"]


def test_flapping_inside_cooldown_is_not_renotified() -> None:
    aggs = quiet_aggregates()
    burst(aggs, "AAA", 2 * DAY, 15)
    burst(aggs, "AAA", 2 * DAY + 45, 15)  # second episode 30 min after the first ended
    engine, store = make(aggs)
    run(engine, 2 * DAY, 2 * DAY + 180)
    opened = [e for e in store.events if e.event == "opened"]
    assert len(opened) == 2
    assert [e.notified for e in opened] == [True, False]
    assert opened[1].state.details["suppressed_by_cooldown"] is True


def test_catch_up_twice_does_not_duplicate() -> None:
    aggs = quiet_aggregates()
    burst(aggs, "BBB", 2 * DAY + 300, 30)
    engine, store = make(aggs)
    engine.catch_up(at(2 * DAY + 600), lookback=timedelta(hours=8))
    first = list(store.events)
    assert [e.event for e in first] == ["opened", "updated", "resolved"][: len(first)]
    assert first[0].event == "opened" and first[-1].event == "resolved"
    # a restarted engine (fresh cursor, same store) catches up over the same windows
    again = AlertEngine(engine.rules, aggs, store)
    assert again.catch_up(at(2 * DAY + 600), lookback=timedelta(hours=8)) == []


def test_fixed_scope_watches_only_its_ticker() -> None:
    aggs = quiet_aggregates()
    burst(aggs, "AAA", 2 * DAY, 30)
    burst(aggs, "BBB", 2 * DAY, 30)
    engine, store = make(aggs, RULES.replace('value: "*"', "value: bbb"))
    run(engine, 2 * DAY, 2 * DAY + 60)
    assert {e.state.scope_value for e in store.events} == {"BBB"}


def test_reload_keeps_running_rules_on_a_bad_file(tmp_path: pytest.TempPathFactory) -> None:
    engine, _ = make(quiet_aggregates(1))
    bad = tmp_path / "bad.yaml"  # type: ignore[operator]
    bad.write_text(RULES.replace("15m", "-15m"))
    with pytest.raises(RuleFileError, match="window"):
        engine.reload(bad)
    assert [r.id for r in engine.rules.rules] == ["surge"]
    good = tmp_path / "good.yaml"  # type: ignore[operator]
    good.write_text(RULES.replace("id: surge", "id: surge2"))
    engine.reload(good)
    assert [r.id for r in engine.rules.rules] == ["surge2"]
