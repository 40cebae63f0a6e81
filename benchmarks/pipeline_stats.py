"""Figures of `finsent bench pipeline`: nearest-rank percentiles, the steady-state rate, the table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["TARGET_P99_S", "TARGET_RATIO", "percentiles", "render_table", "steady_rate"]

#: Targets the report checks: sustained rate vs the standalone engine, p99 latency at a fixed rate.
TARGET_RATIO = 0.8
TARGET_P99_S = 2.0


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of ``values`` (nearest-rank), in the values' unit."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": ordered[-1]}


def steady_rate(stored: Sequence[datetime]) -> float:
    """Rows per second between the 10th and the 90th percentile row (no ramp-up, no tail)."""
    ordered = sorted(stored)
    lo, hi = len(ordered) // 10, (9 * len(ordered)) // 10 - 1
    span = (ordered[hi] - ordered[lo]).total_seconds() if hi > lo else 0.0
    return (hi - lo) / span if span > 0 else float("nan")


def render_table(report: dict[str, Any]) -> Any:
    """A rich table of the report."""
    from rich.table import Table

    table = Table(title="finsent bench pipeline", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    full, fixed = report["full_speed"], report["fixed_rate"]
    rows = [
        ("machine", f"{report['machine']['cpus']} CPU, {report['machine']['backend']}"),
        ("standalone engine (Classifier.predict)", f"{report['standalone_engine_articles_per_s']:.1f} art/s"),
        (
            f"pipeline sustained ({full['articles']} articles)",
            f"{full['sustained_articles_per_s']:.1f} art/s",
        ),
        ("pipeline steady state (p10-p90 rows)", f"{full['steady_state_articles_per_s']:.1f} art/s"),
        ("ratio to engine", f"{full['ratio_to_engine']:.1%}"),
        ("fixed rate", f"{fixed['rate_articles_per_s']:.1f} art/s x {fixed['articles']}"),
    ]
    for label, key in (
        ("committed", "latency_s_publish_to_row_committed"),
        ("written", "latency_s_publish_to_row_written"),
    ):
        p = fixed[key]
        rows.append(
            (f"publish -> row {label} p50/p95/p99", f"{p['p50']:.3f} / {p['p95']:.3f} / {p['p99']:.3f} s")
        )
    for name, ok in report["targets"].items():
        rows.append((f"target: {name}", "met" if ok else "NOT met"))
    for label, value in rows:
        table.add_row(label, value)
    return table
