"""Sliding (one-minute step) windows and relevance-weighted entity aggregates, on in-memory data.

A sliding rule sees a surge when the first minute of it closes; its overlapping windows keep one
episode (one notification) and it resolves after as much quiet time as a tumbling rule. Entity
counts are sums of relevance: a passing mention weighs little next to the headline subject.
"""

from __future__ import annotations

from datetime import timedelta

from finsent.alerts.detectors import Counts, detect_negative_surge
from finsent.alerts.engine import AlertEngine
from finsent.alerts.memory import MemoryAggregates, MemoryAlertStore
from finsent.alerts.rules import EventRule, NegativeSurgeRule, Scope, parse_rules
from tests.unit.alerts.test_engine import DAY, RULES, at, burst, quiet_aggregates, run

SLIDING = RULES.replace("window: 15m", "window: 15m\n    step: 1m\n    resolve_after: 2")


def make(aggs: MemoryAggregates, text: str) -> tuple[AlertEngine, MemoryAlertStore]:
    store = MemoryAlertStore()
    return AlertEngine(parse_rules(text), aggs, store), store


def opened(store: MemoryAlertStore) -> list[tuple[str, object]]:
    return [(e.state.scope_value, e.state.opened_at) for e in store.events if e.event == "opened"]


def test_sliding_rule_opens_when_the_first_minute_closes() -> None:
    start = 2 * DAY + 91  # a tumbling 15-minute rule would wait for the window ending at +105
    sliding_aggs, tumbling_aggs = quiet_aggregates(), quiet_aggregates()
    for aggs in (sliding_aggs, tumbling_aggs):
        burst(aggs, "AAA", start, 10, per_minute=20)
    sliding, s_store = make(sliding_aggs, SLIDING)
    tumbling, t_store = make(tumbling_aggs, RULES)
    run(sliding, 2 * DAY, 2 * DAY + 180)
    run(tumbling, 2 * DAY, 2 * DAY + 180)
    assert opened(s_store) == [("AAA", at(start + 1))]
    assert opened(t_store) == [("AAA", at(2 * DAY + 105))]


def test_overlapping_windows_keep_one_episode_and_resolve_after_two_quiet_windows() -> None:
    aggs = quiet_aggregates()
    start, minutes = 2 * DAY + 200, 20
    burst(aggs, "AAA", start, minutes)
    engine, store = make(aggs, SLIDING)
    run(engine, 2 * DAY, 3 * DAY)
    events = [(e.event, e.notified) for e in store.events]
    assert events[0] == ("opened", True) and events[-1] == ("resolved", True)
    assert [e for e, _ in events].count("opened") == 1
    assert [e for e, _ in events].count("resolved") == 1
    assert all(not n for e, n in events if e == "updated")  # one notification per episode (2h cooldown)
    fired = [e for e, _ in events if e in ("opened", "updated")]
    assert len(fired) >= minutes  # the overlapping windows of the burst all went to the one alert
    alert = store.events[-1].state
    assert alert.opened_at <= at(start + 10)
    # quiet from the first window without the burst's evidence; 2 x 15 min of normal windows after it
    resolved = alert.details["resolved_window_end"]
    last_fired = max(e.state.window_end for e in store.events if e.event in ("opened", "updated"))
    assert resolved == (last_fired + timedelta(minutes=30)).isoformat()


def test_resolve_after_counts_whole_windows() -> None:
    scope = Scope(kind="entity")
    sliding = NegativeSurgeRule(
        id="s",
        kind="negative_surge",
        scope=scope,
        window=timedelta(minutes=15),
        step=timedelta(minutes=1),
        resolve_after=2,
    )
    tumbling = sliding.model_copy(update={"step": None})
    event = EventRule(id="e", kind="retrain_failed", scope=scope)
    got = (sliding.resolve_evaluations, tumbling.resolve_evaluations, event.resolve_evaluations)
    assert got == (30, 2, 1)


def test_bundled_rules_slide_by_one_minute() -> None:
    from finsent.alerts.rules import load_rules
    from finsent.models.labels import TOPIC_LABELS

    rules = load_rules(topic_labels=TOPIC_LABELS)
    assert {r.id: r.every for r in rules.enabled} == dict.fromkeys(rules.by_id, timedelta(minutes=1))


# --- relevance-weighted entity aggregates (hand-made) --------------------------------------------

SURGE = NegativeSurgeRule(
    id="surge",
    kind="negative_surge",
    scope=Scope(kind="entity"),
    window=timedelta(minutes=15),
    min_count=8,
    min_delta=0.3,
)
BASELINE = Counts(200, 40, 100, 60, 10.0)  # a week of one ticker, 20% negative


def weighted(articles: int, relevance: float, label: str, score: float) -> Counts:
    """``articles`` stories of one label, each counted as its relevance to the entity."""
    w = articles * relevance
    return Counts(
        w,
        w if label == "negative" else 0.0,
        w if label == "neutral" else 0.0,
        w if label == "positive" else 0.0,
        w * score,
    )


def test_negative_burst_about_the_subject_fires() -> None:
    window = weighted(14, 0.9, "negative", -0.8) + weighted(2, 0.8, "neutral", 0.0)
    assert detect_negative_surge(SURGE, window, BASELINE).fired


def test_passing_mentions_in_positive_stories_do_not_fire() -> None:
    # 30 negative stories about another company, each naming this one in passing, in a positive
    # light: the document label copied to every ticker (the old aggregates) fires ...
    copied = Counts(30, 30, 0, 0, -24.0)
    assert detect_negative_surge(SURGE, copied, BASELINE).fired
    # ... the entity's own (positive) sentiment weighted by its relevance does not
    own = weighted(30, 0.25, "positive", 0.6)
    detection = detect_negative_surge(SURGE, own, BASELINE)
    assert not detection.fired and detection.value == 0.0
    # and even a negative passing mention weighs too little to reach min_count
    assert not detect_negative_surge(SURGE, weighted(30, 0.25, "negative", -0.5), BASELINE).fired


def test_engine_on_weighted_aggregates_alerts_the_subject_only() -> None:
    aggs = MemoryAggregates(at(0), 3 * DAY)
    for m in range(3 * DAY):  # quiet: the subject of one story a minute, every fifth negative
        neg = m % 5 == 0
        for ticker in ("SUBJ", "PASS"):
            aggs.add("entity", ticker, m, weighted(1, 0.9, "negative" if neg else "neutral", -0.8 * neg))
    start = 2 * DAY + 300
    for m in range(start, start + 15):  # two negative stories a minute about SUBJ naming PASS in passing
        aggs.add("entity", "SUBJ", m, weighted(2, 0.9, "negative", -0.8))
        aggs.add("entity", "PASS", m, weighted(2, 0.2, "positive", 0.5))
    engine, store = make(aggs, SLIDING)
    run(engine, 2 * DAY, 3 * DAY)
    assert [v for v, _ in opened(store)] == ["SUBJ"]
    subject_alert = store.events[0]
    assert subject_alert.detection is not None and subject_alert.detection.details["n"] < 15 * 3
