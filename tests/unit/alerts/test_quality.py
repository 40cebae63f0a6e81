"""The quality measurement runs the real engine over simulated streams and reports its figures."""

from __future__ import annotations

import pytest

from finsent.alerts.quality import Scenario, measure, render_report
from finsent.alerts.rules import parse_rules

RULES = """
rules:
  - {id: surge, kind: negative_surge, scope: {kind: entity, value: "*"}, window: 15m, min_count: 8,
     max_p_value: 1.0e-5, min_delta: 0.3}
"""


@pytest.mark.slow
def test_quality_report_counts_false_alerts_and_detection_delay() -> None:
    strong = Scenario("strong burst", "surge", "entity", 3.0, 30, 0.9)
    missing = Scenario("rule not loaded", "nope", "entity", 3.0, 30, 0.9)
    report = measure(
        parse_rules(RULES), quiet_days=1, events_per_scenario=5, n_tickers=4, scenarios=(strong, missing)
    )
    quiet = report["quiet"]
    assert set(quiet["false_alerts"]) == {"surge"}
    assert quiet["total_per_day"] == quiet["false_alerts"]["surge"] / 1
    assert quiet["total_per_day"] < 2  # four tickers, one day
    planted, skipped = report["planted"]
    assert planted["detected"] == 5 and planted["within_two_windows"] == 1.0
    assert 0 < planted["delay_min_median"] <= 30
    assert planted["delay_s_median"] == 60 * planted["delay_min_median"]
    assert planted["after_first_minute_s_median"] == planted["delay_s_median"] - 60
    assert planted["delay_s_median"] <= planted["delay_s_p90"] <= 60 * planted["delay_min_max"]
    assert "skipped" in skipped
    text = render_report(report)
    assert "false alerts/day" in text and "strong burst" in text and "skipped" in text and " s p90 " in text


@pytest.mark.slow
def test_sliding_rule_sees_a_strong_burst_when_its_first_minute_closes() -> None:
    sliding = RULES.replace("window: 15m,", "window: 15m, step: 1m,")
    flood = Scenario("flood", "surge", "entity", 30.0, 10, 0.95)
    report = measure(
        parse_rules(sliding), quiet_days=1, events_per_scenario=5, n_tickers=4, scenarios=(flood,)
    )
    [planted] = report["planted"]
    assert planted["step_s"] == 60 and planted["detected"] == 5
    assert planted["delay_s_median"] == 60 and planted["within_one_minute"] == 1.0
