"""Evaluation figures (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["agg_pyplot", "plot_confusion", "plot_reliability"]


def agg_pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (figures are written to files, never shown)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path, *, title: str = ""
) -> Path:
    """Row-normalised confusion matrix (gold rows, predicted columns) with counts."""
    plt = agg_pyplot()
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
    plt = agg_pyplot()
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
