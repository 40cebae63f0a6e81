"""Percentiles and rates of `finsent bench pipeline` (pure maths)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.pipeline_stats import percentiles, steady_rate


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0], {"p50": 1.0, "p95": 1.0, "p99": 1.0, "max": 1.0}),
        ([float(i) for i in range(1, 101)], {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}),
        ([5.0, 1.0, 3.0, 2.0, 4.0], {"p50": 3.0, "p95": 5.0, "p99": 5.0, "max": 5.0}),
        ([0.1] * 99 + [9.0], {"p50": 0.1, "p95": 0.1, "p99": 0.1, "max": 9.0}),
        ([0.1] * 98 + [9.0, 9.0], {"p50": 0.1, "p95": 0.1, "p99": 9.0, "max": 9.0}),
    ],
)
def test_nearest_rank_percentiles(values: list[float], expected: dict[str, float]) -> None:
    assert percentiles(values) == expected


def test_percentiles_of_nothing_are_nan() -> None:
    assert all(math.isnan(v) for v in percentiles([]).values())


def test_steady_rate_ignores_the_ramp_and_the_tail() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    # 100 rows: 10 stragglers at the start, 80 at 10 rows/s, 10 stragglers at the end
    rows = [t0 + timedelta(seconds=i * 5) for i in range(10)]
    rows += [t0 + timedelta(seconds=100 + i / 10) for i in range(80)]
    rows += [t0 + timedelta(seconds=200 + i * 5) for i in range(10)]
    assert steady_rate(rows) == pytest.approx(10.0, rel=0.05)
