"""The quality gate's figures: each CPU backend of a version scored on labeled held-out files.

Results land in the version's manifest as ``metrics["<file stem>/<task> (<backend>)"]`` (the rows
the model card prints and ``cpu_backend="auto"`` reads, see :mod:`finsent.models.autoselect`).
Quality figures do not depend on the machine's speed: a CPU without native bf16 computes the
bf16 rows too, only slower.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["record_gate"]


def record_gate(
    root: str | Path,
    files: Sequence[tuple[str, str | Path]],
    backends: Sequence[str],
    *,
    cache_dir: str | Path | None = None,
    on_log: Any = None,
) -> dict[str, dict[str, float]]:
    """Evaluate ``backends`` (fp32 always included) of the version at ``root`` on ``files``.

    Args:
        root: Version directory.
        files: ``(task, path)`` pairs, task ``topic``, ``sentiment`` or ``entity`` (FinEntity
            JSON lines: recorded with the multi-entity and disagreeing subsets, but not part of
            the gate ``auto`` applies, see :mod:`finsent.models.autoselect`).
        backends: CPU backend names (``bf16``, ``onnx-int8``...).
        cache_dir: ONNX export cache.
        on_log: Called with one line per finished evaluation.

    Returns:
        The new metric entries (also merged into the manifest; the model card is rewritten).
    """
    from finsent.models.entity_eval import evaluate_task, read_task_data
    from finsent.models.inference import Classifier
    from finsent.models.network import read_manifest, update_manifest
    from finsent.models.versions import write_model_card

    data = [(task, Path(p), read_task_data(p, task)) for task, p in files]
    out: dict[str, dict[str, float]] = {}
    for backend in dict.fromkeys(["fp32", *backends]):
        clf = Classifier.load(root, device="cpu", cpu_backend=backend, cache_dir=cache_dir, max_length=128)
        for task, path, loaded in data:
            report = evaluate_task(clf, loaded, task=task)
            key = f"{path.stem}/{task} ({backend})"
            out[key] = {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "ece": report.ece}
            out[key]["n"] = report.n
            for name, sub in report.subsets.items():
                if name != "all":
                    out[key] |= {f"{name}_accuracy": sub["accuracy"], f"{name}_macro_f1": sub["macro_f1"]}
            if on_log is not None:
                on_log(f"{key}: macro-F1 {report.macro_f1:.4f}, accuracy {report.accuracy:.4f}, n={report.n}")
        del clf
        gc.collect()
    metrics = {**read_manifest(root).get("metrics", {}), **out}
    update_manifest(root, metrics=metrics)
    write_model_card(root)
    return out
