"""Evaluation figures (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_bench", "plot_confusion", "plot_reliability"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, *, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (gold rows, predicted columns) with counts."""
    plt = _pyplot()
    n = len(labels)
    size = max(4.0, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    rows = [[v / max(1, sum(r)) for v in r] for r in matrix]
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i in range(n):
        for j in range(n):
            if matrix[i][j]:
                color = "white" if rows[i][j] > 0.5 else "black"
                ax.text(j, i, str(matrix[i][j]), ha="center", va="center", fontsize=6, color=color)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(
    confidences: Sequence[float],
    correct: Sequence[bool],
    path: Path,
    *,
    ece: float,
    bins: int = 15,
    title: str = "",
) -> Path:
    """Reliability diagram: accuracy per confidence bin against the diagonal, with the ECE."""
    plt = _pyplot()
    centers, accs, counts = [], [], []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences) if lo < c <= hi]
        if members:
            centers.append((lo + hi) / 2)
            accs.append(sum(1 for i in members if correct[i]) / len(members))
            counts.append(len(members))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.bar(centers, accs, width=1 / bins, edgecolor="black", alpha=0.7, label="accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (ECE {ece:.3f}, n={sum(counts)})", fontsize=9)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bench(report: dict[str, Any], path: Path) -> Path:
    """Bar chart of ``finsent bench inference``: docs/s per method, with the x-baseline ratios."""
    plt = _pyplot()
    rows = report["results"]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    names = [r["method"] for r in rows]
    rates = [r["docs_per_s"] for r in rows]
    colors = ["#999999" if n.startswith("pipeline") else "#1f77b4" for n in names]
    ax.barh(names, rates, color=colors)
    for i, r in enumerate(rows):
        label = f" {r['docs_per_s']:.0f}/s  ({r['x_pipeline_single']:.2f}x, {r['x_pipeline_batch64']:.2f}x)"
        ax.text(r["docs_per_s"], i, label, va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(rates) * 1.45)
    ax.set_xlabel("docs/s (x one-at-a-time pipeline, x batch-64 pipeline)")
    ax.set_title(
        f"{report['model_version']}: {report['texts']} headlines, mean {report['mean_tokens']:.1f} tokens, "
        f"{report['threads']} threads; CPU auto = {report['auto_cpu_backend']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
