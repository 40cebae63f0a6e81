"""The report of a retraining run: one JSON document, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from finsent.lifecycle.gate import Decision, SetEval

__all__ = ["build_report", "compact", "write_json_atomic"]


def build_report(
    *,
    run_id: str,
    trigger: str,
    started_at: datetime,
    finished_at: datetime,
    production: str,
    challenger: str | None,
    config: dict[str, Any],
    counts: dict[str, Any],
    evals: dict[str, dict[str, SetEval]] | None = None,
    decision: Decision | None = None,
    drift: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    status: str = "completed",
    error: str | None = None,
) -> dict[str, Any]:
    """Assemble the report of one run.

    Args:
        run_id: Id of the run (also the report file's name).
        trigger: ``cron``, ``manual``, ...
        started_at: When the run started.
        finished_at: When it ended.
        production: The production version the challenger was compared with.
        challenger: The challenger's version (None when none was trained).
        config: The run's :class:`RetrainConfig` as data.
        counts: Data counts (base, gold, replay, labels...).
        evals: ``{"gold"|"holdout": {"before"|"after": SetEval}}``.
        decision: The gate's decision.
        drift: The drift report as data.
        training: Training figures (steps, losses, duration).
        status: ``completed``, ``skipped`` or ``failed``.
        error: What went wrong (failed runs).
    """
    metrics = {
        name: {side: ev.summary() for side, ev in pair.items()} for name, pair in (evals or {}).items()
    }
    return {
        "run_id": run_id,
        "trigger": trigger,
        "status": status,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": round((finished_at - started_at).total_seconds(), 1),
        "production_version": production,
        "challenger_version": challenger,
        "decision": None if decision is None else ("promoted" if decision.promote else "candidate"),
        "reason": error if decision is None else decision.reason,
        "checks": None if decision is None else decision.checks,
        "counts": counts,
        "metrics": metrics,
        "drift": drift,
        "training": training,
        "config": config,
        "error": error,
    }


def compact(report: dict[str, Any]) -> dict[str, Any]:
    """The report without per-class tables (for the registry row, which lists read often)."""
    out = {k: v for k, v in report.items() if k not in ("metrics", "config", "drift")}
    out["metrics"] = {
        name: {
            side: {
                "accuracy": ev["accuracy"],
                "n": ev["n"],
                **{f"{t}_macro_f1": m["macro_f1"] for t, m in ev["tasks"].items()},
            }
            for side, ev in pair.items()
        }
        for name, pair in report.get("metrics", {}).items()
    }
    drift = report.get("drift") or {}
    out["drift_flags"] = drift.get("flags", [])
    return out


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """Write JSON to ``path`` via a temporary file and a rename (readers never see half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
