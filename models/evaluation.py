"""Evaluation of a classifier on a labeled file: metrics, calibration, plots, JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.data import LoadResult, Task
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS

if TYPE_CHECKING:
    from finsent.models.inference import Classifier

__all__ = ["EvalReport", "evaluate", "expected_calibration_error", "metrics_from_probs", "write_report"]


@dataclass
class EvalReport:
    """Metrics of one task on one file (``to_dict`` is the JSON report)."""

    task: str
    data: str
    n: int
    accuracy: float
    macro_f1: float
    ece: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    labels: list[str]
    model_version: str = ""
    backend: str = ""
    skipped_rows: int = 0
    files: dict[str, str] = field(default_factory=dict)
    #: Figures on parts of the data (entity task: all, multi_entity, disagreeing).
    subsets: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Where the probabilities came from (entity task: ``entity`` head or ``document`` copy).
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @classmethod
    def from_metrics(
        cls,
        m: dict[str, Any],
        *,
        task: str,
        data: str,
        n: int,
        labels: Sequence[str],
        classifier: Classifier,
        skipped_rows: int,
        **extra: Any,
    ) -> EvalReport:
        """The report of :func:`metrics_from_probs` output ``m`` for ``classifier`` on ``data``."""
        return cls(
            task=task,
            data=data,
            n=n,
            accuracy=m["accuracy"],
            macro_f1=m["macro_f1"],
            ece=m["ece"],
            per_class=m["per_class"],
            confusion_matrix=m["confusion_matrix"],
            labels=list(labels),
            model_version=classifier.version,
            backend=classifier.backend_name,
            skipped_rows=skipped_rows,
            **extra,
        )


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 15
) -> float:
    """ECE: mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    n = len(confidences)
    if n == 0:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences) if (lo < c <= hi) or (b == 0 and c == 0.0)]
        if not members:
            continue
        acc = sum(1 for i in members if correct[i]) / len(members)
        conf = sum(confidences[i] for i in members) / len(members)
        total += len(members) / n * abs(acc - conf)
    return total


def metrics_from_probs(
    gold: Sequence[int], probs: Sequence[Sequence[float]], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1, confusion matrix and ECE from class probabilities."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    pred = [max(range(len(p)), key=p.__getitem__) for p in probs]
    classes = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=classes, zero_division=0)
    present = sorted(set(gold))
    macro_f1 = float(sum(f[c] for c in present) / len(present)) if present else 0.0
    conf = [float(probs[i][pred[i]]) for i in range(len(pred))]
    correct = [g == q for g, q in zip(gold, pred, strict=True)]
    return {
        "accuracy": sum(correct) / len(correct) if correct else 0.0,
        "macro_f1": macro_f1,
        "ece": expected_calibration_error(conf, correct),
        "per_class": {
            labels[c]: {
                "precision": float(p[c]),
                "recall": float(r[c]),
                "f1": float(f[c]),
                "support": int(s[c]),
            }
            for c in classes
        },
        "confusion_matrix": confusion_matrix(gold, pred, labels=classes).tolist(),
        "confidences": conf,
        "correct": correct,
    }


def evaluate(
    classifier: Classifier,
    data: LoadResult,
    out_dir: str | Path | None = None,
    *,
    task: Task | None = None,
) -> EvalReport:
    """Score ``data`` with ``classifier`` and compute the report of ``task``.

    Macro-F1 averages over the classes present in the gold labels (a file of 3 sentiment
    classes is not penalised for the others). With ``out_dir``, writes ``report.json``,
    ``confusion_matrix.png`` and ``reliability.png`` there (names prefixed by the task).
    """
    task = task or data.task
    labels = list(TOPIC_LABELS if task == "topic" else SENTIMENT_LABELS)
    examples = [e for e in data.examples if e.label(task) is not None]
    scores = classifier.predict([e.text for e in examples]) if examples else []
    probs = [s.topic_probs if task == "topic" else s.sentiment_probs for s in scores]
    gold = [int(e.label(task)) for e in examples]  # type: ignore[arg-type]  # filtered above
    m = metrics_from_probs(gold, probs, labels)
    report = EvalReport.from_metrics(
        m,
        task=task,
        data=data.source,
        n=len(examples),
        labels=labels,
        classifier=classifier,
        skipped_rows=len(data.bad_rows),
    )
    if out_dir is not None:
        write_report(report, m, Path(out_dir))
    return report


def write_report(report: EvalReport, m: dict[str, Any], out: Path) -> None:
    """Write ``<task>_report.json``, ``<task>_confusion_matrix.png`` and ``<task>_reliability.png``
    (``m``: :func:`metrics_from_probs` output) and record their paths in ``report.files``."""
    from finsent.models.plots import plot_confusion, plot_reliability

    out.mkdir(parents=True, exist_ok=True)
    cm_path = out / f"{report.task}_confusion_matrix.png"
    rel_path = out / f"{report.task}_reliability.png"
    json_path = out / f"{report.task}_report.json"
    plot_confusion(
        report.confusion_matrix, report.labels, cm_path, title=f"{report.task} — {report.model_version}"
    )
    plot_reliability(
        m["confidences"], m["correct"], rel_path, ece=report.ece, title=f"{report.task} reliability"
    )
    report.files = {"report": str(json_path), "confusion_matrix": str(cm_path), "reliability": str(rel_path)}
    json_path.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
