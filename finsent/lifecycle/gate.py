"""Judging a challenger against production: per-set metrics and the promotion decision.

The gate promotes only when both hold:

1. **Gold set, not worse**: for each task, the challenger's macro-F1 is at most
   ``gold_margin`` below production's.
2. **Held-out labels, better**: the challenger's accuracy on the held-out label slice beats
   production's by more than ``min_gain``, there are at least ``min_holdout`` held-out labels,
   and the wins are not luck: among the labels exactly one model gets right, the challenger's
   share passes a one-sided sign test at level ``significance`` (random labels give about as
   many wins as losses and fail it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from finsent.lifecycle.config import RetrainConfig
from finsent.models.data import Example
from finsent.models.evaluation import metrics_from_probs
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS

if TYPE_CHECKING:
    from finsent.models.inference import Score

__all__ = ["Decision", "SetEval", "decide", "evaluate_set", "sign_test_p"]

Predict = Callable[[Sequence[str]], "list[Score]"]


@dataclass
class SetEval:
    """Metrics of one model on one labeled set, and which (example, task) pairs it got right."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    correct: list[bool] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of (example, task) pairs predicted right (0 when empty)."""
        return sum(self.correct) / len(self.correct) if self.correct else 0.0

    def summary(self) -> dict[str, Any]:
        """Plain data for the report: per task accuracy, macro-F1, n and per-class P/R/F1."""
        return {"accuracy": self.accuracy, "n": len(self.correct), "tasks": self.tasks}


def evaluate_set(predict: Predict, examples: Sequence[Example]) -> tuple[SetEval, list[Score]]:
    """Score ``examples`` once and compute each task's metrics over the examples carrying it.

    Returns:
        The metrics and the scores (in input order) for further use (drift reference).
    """
    if not examples:
        return SetEval(), []
    scores = predict([e.text for e in examples])
    result = SetEval()
    for task, labels in (("topic", TOPIC_LABELS), ("sentiment", SENTIMENT_LABELS)):
        idx = [i for i, e in enumerate(examples) if e.label(task) is not None]  # type: ignore[arg-type]
        if not idx:
            continue
        gold = [int(examples[i].label(task)) for i in idx]  # type: ignore[arg-type]  # filtered
        probs = [scores[i].topic_probs if task == "topic" else scores[i].sentiment_probs for i in idx]
        m = metrics_from_probs(gold, probs, labels)
        result.correct.extend(m["correct"])
        result.tasks[task] = {
            "n": len(idx),
            "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"],
            "per_class": {k: v for k, v in m["per_class"].items() if v["support"]},
        }
    return result, scores


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact sign test: P(at least ``wins`` of ``wins + losses`` fair coin flips)."""
    n = wins + losses
    if n == 0:
        return 1.0
    return float(sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n)


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and why."""

    promote: bool
    reason: str
    checks: dict[str, Any]


def decide(
    gold_before: SetEval,
    gold_after: SetEval,
    holdout_before: SetEval,
    holdout_after: SetEval,
    config: RetrainConfig,
) -> Decision:
    """Apply the promotion gate (module docstring) and say why in one sentence."""
    problems: list[str] = []
    drops: dict[str, float] = {}
    for task, before in gold_before.tasks.items():
        after = gold_after.tasks.get(task, {"macro_f1": 0.0})
        drops[task] = before["macro_f1"] - after["macro_f1"]
        if drops[task] > config.gold_margin:
            problems.append(
                f"gold {task} macro-F1 fell {before['macro_f1']:.3f} -> {after['macro_f1']:.3f} "
                f"(more than the {config.gold_margin:.3f} margin)"
            )
    n = len(holdout_after.correct)
    wins = sum(a and not b for a, b in zip(holdout_after.correct, holdout_before.correct, strict=True))
    losses = sum(b and not a for a, b in zip(holdout_after.correct, holdout_before.correct, strict=True))
    gain = holdout_after.accuracy - holdout_before.accuracy
    p_value = sign_test_p(wins, losses)
    if n < config.min_holdout:
        problems.append(f"only {n} held-out labels (at least {config.min_holdout} needed to judge)")
    elif gain <= config.min_gain:
        problems.append(
            f"not better on the held-out labels: accuracy {holdout_before.accuracy:.3f} -> "
            f"{holdout_after.accuracy:.3f}"
        )
    elif p_value > config.significance:
        problems.append(
            f"held-out gain {gain:+.3f} is not significant ({wins} wins / {losses} losses, "
            f"p={p_value:.3f} > {config.significance})"
        )
    checks = {
        "gold_macro_f1_drop": drops,
        "gold_margin": config.gold_margin,
        "holdout_n": n,
        "holdout_gain": gain,
        "holdout_wins": wins,
        "holdout_losses": losses,
        "sign_test_p": p_value,
    }
    if problems:
        return Decision(False, "kept as candidate: " + "; ".join(problems), checks)
    worst = max(drops.values(), default=0.0)
    reason = (
        f"promoted: held-out accuracy {holdout_before.accuracy:.3f} -> {holdout_after.accuracy:.3f} "
        f"({wins} wins / {losses} losses, p={p_value:.3g}); largest gold macro-F1 drop {worst:+.3f} "
        f"within the {config.gold_margin:.3f} margin"
    )
    return Decision(True, reason, checks)
