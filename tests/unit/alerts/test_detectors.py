"""Each rule kind on constructed aggregates: fires / does not fire, with the boundary cases."""

from __future__ import annotations

import math
from typing import Any

import pytest

from finsent.alerts.detectors import (
    Counts,
    binomial_sf,
    detect_negative_surge,
    detect_sentiment_shift,
    detect_threshold,
    detect_volume_spike,
    ewma_stats,
)
from finsent.alerts.rules import NegativeSurgeRule, SentimentShiftRule, ThresholdRule, VolumeSpikeRule

SCOPE = {"kind": "entity", "value": "*"}


def surge(**kw: Any) -> NegativeSurgeRule:
    fields = {
        "id": "s",
        "kind": "negative_surge",
        "scope": SCOPE,
        "window": "15m",
        "prior_weight": 0,
        "dispersion": 1.0,
        **kw,
    }
    return NegativeSurgeRule.model_validate(fields)


def neg(n: int, k: int) -> Counts:
    return Counts(n=n, n_negative=k, n_neutral=n - k, sum_score=-0.8 * k)


BASE_20PCT = neg(1000, 200)


@pytest.mark.parametrize(
    ("window", "rule_kw", "fires"),
    [
        (neg(12, 10), {}, True),  # 83% vs 20% baseline, 12 articles
        (neg(3, 2), {}, False),  # 2 of 3 negative: below min_count (8)
        (neg(8, 8), {}, True),  # exactly min_count, all negative
        (neg(7, 7), {}, False),  # one below min_count
        (neg(8, 8), {"min_count": 9}, False),
        (neg(40, 12), {}, False),  # 30%: significant-ish but below min_delta 0.2
        (neg(100, 40), {}, True),  # 40% on 100 articles: delta 0.2 exactly, p tiny
        (neg(100, 39), {}, False),  # delta 0.19 < min_delta
        (neg(20, 9), {"min_delta": 0.0}, False),  # 45% of 20: p ~ 0.007 > 1e-4
        (neg(20, 9), {"min_delta": 0.0, "max_p_value": 0.01}, True),
        (neg(0, 0), {"min_count": 1}, False),  # empty window
        (neg(50, 5), {}, False),  # fewer negatives than usual never fires
    ],
)
def test_negative_surge(window: Counts, rule_kw: dict[str, Any], fires: bool) -> None:
    det = detect_negative_surge(surge(**rule_kw), window, BASE_20PCT)
    assert det.fired is fires
    assert det.baseline == pytest.approx(0.2)
    assert det.value == pytest.approx(window.negative_share)


def test_negative_surge_statistic_and_pvalue() -> None:
    det = detect_negative_surge(surge(), neg(25, 15), BASE_20PCT)
    assert det.statistic == pytest.approx((15 - 5) / math.sqrt(25 * 0.2 * 0.8))
    assert det.details["p_value"] == pytest.approx(binomial_sf(15, 25, 0.2))
    assert det.details["n"] == 25 and det.details["baseline_n"] == 1000


def test_negative_surge_dispersion_is_more_conservative() -> None:
    window = neg(20, 12)  # 60% of 20 vs 20%: p ~ 1e-4 as binomial
    plain = detect_negative_surge(surge(max_p_value=1e-3), window, BASE_20PCT)
    inflated = detect_negative_surge(surge(max_p_value=1e-3, dispersion=2.0), window, BASE_20PCT)
    assert plain.fired and not inflated.fired
    assert inflated.details["p_value"] > plain.details["p_value"]
    assert inflated.statistic == pytest.approx(plain.statistic / math.sqrt(2))  # type: ignore[operator]


def test_negative_surge_prior_smooths_a_new_scope() -> None:
    rule = surge(prior_weight=20, prior_share=0.25)
    det = detect_negative_surge(rule, neg(10, 9), Counts())
    assert det.baseline == pytest.approx(0.25) and det.fired
    # a scope whose history is all negative has a high baseline: the same window is normal
    assert not detect_negative_surge(rule, neg(10, 9), neg(200, 190)).fired


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [(0, 10, 0.3, 1.0), (11, 10, 0.3, 0.0), (10, 10, 0.5, 0.5**10), (1, 1, 0.2, 0.2), (2, 3, 0.5, 0.5)],
)
def test_binomial_sf(k: int, n: int, p: float, expected: float) -> None:
    assert binomial_sf(k, n, p) == pytest.approx(expected)


def spike(**kw: Any) -> VolumeSpikeRule:
    fields = {"id": "v", "kind": "volume_spike", "scope": SCOPE, "window": "15m", "halflife": "1d", **kw}
    return VolumeSpikeRule.model_validate(fields)


FLAT_4 = [4] * 96  # a day of 15-minute windows with 4 articles each


@pytest.mark.parametrize(
    ("count", "history", "rule_kw", "fires"),
    [
        (30, FLAT_4, {}, True),  # 7.5x usual volume
        (12, FLAT_4, {}, False),  # 3x: below min_ratio 3? 12 = 3*4 -> ratio ok, z=(12-4)/2=4 < 5
        (14, FLAT_4, {}, True),  # z = (14-4)/2 = 5 -> boundary fires
        (13, FLAT_4, {}, False),  # z = 4.5
        (14, FLAT_4, {"min_count": 15}, False),
        (9, [0] * 96, {}, False),  # silent scope: 9 < min_count 10
        (10, [0] * 96, {}, True),  # silent scope: 10 articles, z = 10 with sd floor 1
        (40, [20, 0] * 48, {}, False),  # bursty history: sd ~ 10, z ~ 3
        (0, FLAT_4, {}, False),
    ],
)
def test_volume_spike(count: int, history: list[int], rule_kw: dict[str, Any], fires: bool) -> None:
    det = detect_volume_spike(spike(**rule_kw), Counts(n=count, n_neutral=count), history)
    assert det.fired is fires
    assert det.value == count


def test_volume_spike_min_ratio_boundary() -> None:
    history = [100] * 96  # sd floor is sqrt(100) = 10
    assert detect_volume_spike(spike(min_ratio=1.5, z=3), Counts(n=150), history).fired
    assert not detect_volume_spike(spike(min_ratio=1.6, z=3), Counts(n=150), history).fired


def test_ewma_weights_recent_windows_more() -> None:
    mean_recent_high, _ = ewma_stats([0.0] * 10 + [10.0] * 10, 0.5)
    mean_old_high, _ = ewma_stats([10.0] * 10 + [0.0] * 10, 0.5)
    assert mean_recent_high > 9.9 and mean_old_high < 0.1
    assert ewma_stats([], 0.5) == (0.0, 0.0)
    assert ewma_stats([3.0, 3.0], 0.9) == pytest.approx((3.0, 0.0))


def shift(**kw: Any) -> SentimentShiftRule:
    fields = {
        "id": "m",
        "kind": "sentiment_shift",
        "scope": {"kind": "all"},
        "window": "1h",
        "min_count": 10,
        "k": 3,
        "min_std": 0.0,
        **kw,
    }
    return SentimentShiftRule.model_validate(fields)


def means(values: list[float], n: int = 20) -> list[Counts]:
    return [Counts(n=n, n_neutral=n, sum_score=v * n) for v in values]


HISTORY = means([0.0, 0.1, -0.1, 0.1, -0.1, 0.0, 0.1, -0.1, 0.0, 0.0])  # mean 0, sd ~0.082


@pytest.mark.parametrize(
    ("mean", "n", "rule_kw", "fires"),
    [
        (-0.5, 20, {}, True),
        (0.5, 20, {}, True),
        (0.5, 20, {"direction": "down"}, False),
        (-0.5, 20, {"direction": "up"}, False),
        (-0.2, 20, {}, False),  # ~2.4 sd
        (-0.5, 9, {}, False),  # below min_count
        (-0.5, 20, {"min_std": 0.5}, False),  # floored std: 1 sd only
        (-0.5, 20, {"min_baseline_windows": 11}, False),  # not enough history
    ],
)
def test_sentiment_shift(mean: float, n: int, rule_kw: dict[str, Any], fires: bool) -> None:
    det = detect_sentiment_shift(shift(**rule_kw), Counts(n=n, sum_score=mean * n), HISTORY)
    assert det.fired is fires
    assert det.value == pytest.approx(mean)
    assert det.baseline == pytest.approx(0.0, abs=1e-12)


def test_sentiment_shift_boundary_is_strict() -> None:
    sd = math.sqrt(sum(c.mean_score**2 for c in HISTORY) / (len(HISTORY) - 1))
    at = Counts(n=20, sum_score=-3 * sd * 20)
    assert not detect_sentiment_shift(shift(), at, HISTORY).fired
    beyond = Counts(n=20, sum_score=-3.01 * sd * 20)
    assert detect_sentiment_shift(shift(), beyond, HISTORY).fired


def test_sentiment_shift_ignores_thin_history_windows() -> None:
    history = means([0.9] * 10, n=2) + HISTORY  # thin windows excluded from the baseline
    det = detect_sentiment_shift(shift(), Counts(n=20, sum_score=-10.0), history)
    assert det.details["baseline_windows"] == 10 and det.fired


def threshold(**kw: Any) -> ThresholdRule:
    fields = {"id": "t", "kind": "threshold", "scope": {"kind": "all"}, "window": "15m", **kw}
    return ThresholdRule.model_validate(fields)


@pytest.mark.parametrize(
    ("metric", "op", "value", "window", "min_count", "fires"),
    [
        ("negative_share", ">", 0.5, neg(10, 6), 0, True),
        ("negative_share", ">", 0.5, neg(10, 5), 0, False),  # boundary, strict
        ("negative_share", ">=", 0.5, neg(10, 5), 0, True),
        ("negative_share", ">", 0.5, neg(4, 4), 5, False),  # too few articles
        ("count", ">=", 100, neg(100, 0), 0, True),
        ("count", "<", 1, Counts(), 0, True),  # silence detector
        ("mean_score", "<", -0.3, neg(10, 5), 0, True),  # mean -0.4
        ("mean_score", "<", -0.3, Counts(), 0, False),  # undefined on an empty window
        ("positive_share", "<=", 0.0, Counts(), 0, False),
        ("n_negative", ">", 3, neg(10, 4), 0, True),
    ],
)
def test_threshold(metric: str, op: str, value: float, window: Counts, min_count: int, fires: bool) -> None:
    rule = threshold(metric=metric, op=op, value=value, min_count=min_count)
    assert detect_threshold(rule, window).fired is fires
