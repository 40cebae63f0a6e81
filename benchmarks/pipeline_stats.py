"""Figures of `finsent bench pipeline`: nearest-rank percentiles, the steady-state rate, the table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "TARGET_ARTICLE_RATIO",
    "TARGET_ENTITY_RATIO",
    "TARGET_P99_S",
    "TARGET_RATIO",
    "check_targets",
    "cpu_name",
    "mode_ratios",
    "percentiles",
    "render_table",
    "steady_rate",
]

#: Targets the report checks: sustained rate vs the standalone engine, p99 latency at a fixed rate.
TARGET_RATIO = 0.9
TARGET_P99_S = 0.5
#: Whole-article sustained rate vs headline-only; entity scoring on vs off (whole-article mode).
TARGET_ARTICLE_RATIO = 0.4
TARGET_ENTITY_RATIO = 0.7


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor string elsewhere)."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mode_ratios(modes: dict[str, Any]) -> dict[str, float]:
    """Sustained-rate ratios between modes: whole-article / headline-only, entities on / off."""

    def rate(mode: str) -> float | None:
        return modes[mode]["full_speed"]["sustained_articles_per_s"] if mode in modes else None

    out: dict[str, float] = {}
    head, whole, off = rate("headline"), rate("article"), rate("article-no-entities")
    if head and whole:
        out["article_vs_headline"] = whole / head
    if whole and off:
        out["entities_on_vs_off"] = whole / off
    return out


def check_targets(rate_fraction: float, modes: dict[str, Any], ratios: dict[str, float]) -> dict[str, bool]:
    """Each target of the report: met or not."""
    out: dict[str, bool] = {}
    for mode, m in modes.items():
        p99 = m["fixed_rate"]["latency_s_publish_to_row_committed"]["p99"]
        out[f"{mode}: sustained >= {TARGET_RATIO:.0%} of engine"] = (
            m["full_speed"]["ratio_to_engine"] >= TARGET_RATIO
        )
        out[f"{mode}: p99 < {TARGET_P99_S:g} s at {rate_fraction:.0%} load"] = p99 < TARGET_P99_S
    if "article_vs_headline" in ratios:
        met = ratios["article_vs_headline"] >= TARGET_ARTICLE_RATIO
        out[f"whole-article >= {TARGET_ARTICLE_RATIO:.0%} of headline-only"] = met
    if "entities_on_vs_off" in ratios:
        met = ratios["entities_on_vs_off"] >= TARGET_ENTITY_RATIO
        out[f"entities on >= {TARGET_ENTITY_RATIO:.0%} of off"] = met
    return out


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
    """A rich table of the report: one column per mode."""
    from rich.table import Table

    modes: dict[str, Any] = report.get("modes") or {"pipeline": report}
    table = Table(title=f"finsent bench pipeline -- {report['machine'].get('cpu', '?')}", show_header=True)
    table.add_column("measure")
    for mode in modes:
        table.add_column(mode, justify="right")

    def row(label: str, fmt: Any) -> None:
        table.add_row(label, *(fmt(m) for m in modes.values()))

    row(
        "standalone engine (Classifier.predict)",
        lambda m: f"{m['standalone_engine_articles_per_s']:.1f} art/s",
    )
    row("pipeline sustained", lambda m: f"{m['full_speed']['sustained_articles_per_s']:.1f} art/s")
    row("body sentences/s", lambda m: f"{m['full_speed'].get('sustained_sentences_per_s', 0.0):.1f}")
    row(
        "steady state (p10-p90 rows)", lambda m: f"{m['full_speed']['steady_state_articles_per_s']:.1f} art/s"
    )
    row("ratio to engine", lambda m: f"{m['full_speed']['ratio_to_engine']:.1%}")
    row(
        "inference thread busy (full speed)",
        lambda m: f"{m['full_speed'].get('inference_duty', float('nan')):.1%}",
    )
    row(
        "fixed rate",
        lambda m: f"{m['fixed_rate']['rate_articles_per_s']:.1f} art/s x {m['fixed_rate']['articles']}",
    )
    for label, key in (
        ("committed", "latency_s_publish_to_row_committed"),
        ("written", "latency_s_publish_to_row_written"),
    ):
        row(
            f"publish -> row {label} p50/p95/p99",
            lambda m, key=key: "{p50:.3f} / {p95:.3f} / {p99:.3f} s".format(**m["fixed_rate"][key]),
        )
    for stage in ("decode", "plan", "inference", "assemble", "store", "publish"):
        row(
            f"worker s in {stage} (full speed)",
            lambda m, stage=stage: (
                f"{m['full_speed'].get('worker_seconds_by_stage', {}).get(stage, float('nan')):.1f}"
            ),
        )
    blank = [""] * (len(modes) - 1)
    for name, value in report.get("ratios", {}).items():
        table.add_row(f"ratio {name}", f"{value:.1%}", *blank)
    for name, ok in report["targets"].items():
        table.add_row(f"target: {name}", "met" if ok else "NOT met", *blank)
    return table
