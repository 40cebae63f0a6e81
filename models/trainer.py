"""The one training loop of the two-head model; fine-tuning and distillation both run it.

:class:`Trainer` draws seeded, length-bucketed batches, steps the optimiser and its schedule,
evaluates every epoch on the dev split, keeps the epoch with the best mean dev macro-F1 and stops
after ``patience`` epochs without improvement. What is trained is decided by named hooks::

    compute_loss(batch, idx)     the loss of one batch (default: class-weighted cross-entropy
                                 on each head's gold labels)
    create_optimizer(total)      optimiser and LR schedule (default: AdamW, body and heads at
                                 their own rates, linear warm-up then decay)
    evaluate(epoch_loss)         the epoch's metrics; ``mean_macro_f1`` selects the best epoch
    snapshot()                   what is kept of the best epoch (default: trainable tensors)
    on_epoch_end(metrics, improved)  after selection (default: log a line, checkpoint on request)

:class:`finsent.models.distill.DistillationTrainer` overrides the batch loss and the optimiser
(as setfit's ``DistillationTrainer`` does): the loop itself exists once.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from finsent.models.batching import CachedBatches, TokenBatches, batch_order
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS

__all__ = ["FitResult", "Trainer", "TrainerArgs", "class_weights", "evaluate_logits", "seed_all"]

log = logging.getLogger(__name__)

#: What batches are drawn from: token ids, or the states cached after the frozen layers.
Batches = TokenBatches | CachedBatches


@dataclass(frozen=True)
class TrainerArgs:
    """How the loop runs (each run's config maps onto these)."""

    epochs: int
    batch_size: int
    seed: int
    lr: float
    max_steps: int | None = None
    #: Epochs without improvement before stopping; None: run every epoch.
    patience: int | None = None
    #: Learning rate of the two heads (default: ``lr``).
    head_lr: float | None = None
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    #: Gradients are clipped to this norm; None: no clipping.
    max_grad_norm: float | None = 1.0
    #: Gold-label cross-entropy weights ~ class count ** -power (favours macro-F1).
    class_weight_power: float = 0.5

    @classmethod
    def from_config(cls, config: object, **overrides: Any) -> TrainerArgs:
        """The arguments a run's config names (its fields called like these), then ``overrides``."""
        named = {f.name: getattr(config, f.name) for f in fields(cls) if hasattr(config, f.name)}
        return cls(**(named | overrides))


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` produced (the model then holds the best epoch's weights)."""

    best_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (before the model is built)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(labels: list[int], n: int, power: float) -> Any:
    """Cross-entropy weights ``count ** -power`` per class, averaging 1 over ``labels``."""
    import torch

    counts = torch.bincount(torch.tensor(labels, dtype=torch.long), minlength=n).float().clamp(min=1)
    w = counts.pow(-power)
    # Scale so the average weight over the training examples is 1 (loss scale stays comparable).
    return w / (w * counts).sum() * counts.sum()


def _logits(model: Any, data: Batches, b: dict[str, Any]) -> tuple[Any, Any]:
    if isinstance(data, CachedBatches):
        return model.forward_from(b["hidden"], b["attention_mask"], data.k)  # type: ignore[no-any-return]
    return model(b["input_ids"], b["attention_mask"])  # type: ignore[no-any-return]


def _outputs(model: Any, data: Batches, b: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Topic and sentiment logits, and entity logits (None when the batch has no entities)."""
    if "ent_labels" not in b or getattr(model, "entity_head", None) is None:
        t, s = _logits(model, data, b)
        return t, s, None
    if isinstance(data, CachedBatches):
        t, s, h = model.forward_from_states(b["hidden"], b["attention_mask"], data.k)
    else:
        t, s, h = model.forward_states(b["input_ids"], b["attention_mask"])
    return t, s, model.entity_head(h, b["attention_mask"], b["ent_rows"], b["ent_mask"])


def _masked_ce(logits: Any, labels: Any, weight: Any) -> Any:
    import torch

    if not bool((labels != -100).any()):
        return logits.sum() * 0.0
    return torch.nn.functional.cross_entropy(logits, labels, weight=weight, ignore_index=-100)


def evaluate_logits(model: Any, data: Batches, batch_size: int = 128) -> dict[str, float]:
    """Accuracy and macro-F1 per head on pre-tokenised examples, and their mean macro-F1."""
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    model.eval()
    order = sorted(range(len(data)), key=lambda i: data.lengths[i])
    preds: dict[str, dict[int, int]] = {"topic": {}, "sentiment": {}}
    ent_gold: list[int] = []
    ent_pred: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            b = data.batch(idx)
            t_logits, s_logits, e_logits = _outputs(model, data, b)
            for j, i in enumerate(idx):
                preds["topic"][i] = int(t_logits[j].argmax())
                preds["sentiment"][i] = int(s_logits[j].argmax())
            if e_logits is not None:
                ent_gold += b["ent_labels"].tolist()
                ent_pred += e_logits.argmax(-1).tolist()
    model.train()
    out: dict[str, float] = {}
    for task, gold_all in (("topic", data.topic), ("sentiment", data.sent)):
        idx = [i for i, g in enumerate(gold_all) if g != -100]
        if not idx:
            continue
        gold = [gold_all[i] for i in idx]
        pred = [preds[task][i] for i in idx]
        out[f"{task}_accuracy"] = float(accuracy_score(gold, pred))
        out[f"{task}_macro_f1"] = float(f1_score(gold, pred, average="macro"))
    if ent_gold:
        out["entity_accuracy"] = float(accuracy_score(ent_gold, ent_pred))
        out["entity_macro_f1"] = float(f1_score(ent_gold, ent_pred, average="macro"))
    f1s = [v for k, v in out.items() if k.endswith("macro_f1")]
    out["mean_macro_f1"] = sum(f1s) / len(f1s) if f1s else 0.0
    return out


class Trainer:
    """The training loop, with fine-tuning's hooks (override them to train something else).

    Args:
        model: A two-head model (``forward``/``forward_from`` give topic and sentiment logits).
        data: Training batches (gold labels, -100 where an example has none).
        dev: Dev batches for model selection, or None (then the hook's fallback score).
        args: How the loop runs.
        progress: Show a tqdm progress bar.
        on_log: Receives one line per epoch (default: the module logger).
        on_improved: Called with the trainer after every epoch that beat the best so far
            (e.g. to checkpoint; ``best_metrics`` and ``history`` are up to date).
    """

    #: Progress bar label and how the per-epoch log lines start.
    desc = "train"
    epoch_label = "epoch"

    def __init__(
        self,
        model: Any,
        data: Batches,
        dev: Batches | None,
        args: TrainerArgs,
        *,
        progress: bool = True,
        on_log: Callable[[str], None] | None = None,
        on_improved: Callable[[Trainer], None] | None = None,
    ) -> None:
        self.model, self.data, self.dev, self.args = model, data, dev, args
        self.progress = progress
        self.say = on_log or log.info
        self.on_improved = on_improved
        power = args.class_weight_power
        self.topic_weight = class_weights([t for t in data.topic if t >= 0], len(TOPIC_LABELS), power)
        self.sentiment_weight = class_weights([s for s in data.sent if s >= 0], len(SENTIMENT_LABELS), power)
        ent_labels = [label for ents in getattr(data, "ents", []) for _, label in ents]
        self.entity_weight = class_weights(ent_labels, len(SENTIMENT_LABELS), power)
        self.best_metrics: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.losses: list[float] = []
        self.step = 0

    def compute_loss(self, batch: dict[str, Any], idx: list[int]) -> Any:
        """Loss of one batch (``idx``: the examples' positions in ``data``); the entity head's
        cross-entropy is added for batches with labeled entities."""
        t_logits, s_logits, e_logits = _outputs(self.model, self.data, batch)
        loss = _masked_ce(t_logits, batch["topic"], self.topic_weight) + _masked_ce(
            s_logits, batch["sentiment"], self.sentiment_weight
        )
        if e_logits is not None:
            loss = loss + _masked_ce(e_logits, batch["ent_labels"], self.entity_weight)
        return loss

    def create_optimizer(self, total_steps: int) -> tuple[Any, Any]:
        """Optimiser and per-step LR schedule for a run of ``total_steps`` steps."""
        import torch

        args = self.args
        heads = [
            p
            for n, p in self.model.named_parameters()
            if n.split(".")[0].endswith("_head") and p.requires_grad
        ]
        head_ids = {id(p) for p in heads}
        body = [p for p in self.model.parameters() if p.requires_grad and id(p) not in head_ids]
        optim = torch.optim.AdamW(
            [
                {"params": body, "lr": args.lr},
                {"params": heads, "lr": args.lr if args.head_lr is None else args.head_lr},
            ],
            weight_decay=args.weight_decay,
        )
        warm = max(1, int(total_steps * args.warmup_ratio))

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return max(0.0, (total_steps - step) / max(1, total_steps - warm))

        return optim, torch.optim.lr_scheduler.LambdaLR(optim, factor)

    def evaluate(self, epoch_loss: float) -> dict[str, float]:
        """The epoch's metrics: dev metrics, or minus the epoch's summed loss without a dev split."""
        if self.dev is None:
            return {"mean_macro_f1": -epoch_loss}
        return evaluate_logits(self.model, self.dev)

    def snapshot(self) -> dict[str, Any]:
        """Copies of the trainable tensors (what :meth:`fit` restores of the best epoch)."""
        trainable = {n for n, p in self.model.named_parameters() if p.requires_grad}
        return {k: v.detach().clone() for k, v in self.model.state_dict().items() if k in trainable}

    def on_epoch_end(self, metrics: dict[str, float], improved: bool) -> None:
        """Log the epoch's line; hand an improvement to ``on_improved``."""
        rounded = {k: round(v, 4) for k, v in metrics.items()}
        self.say(f"{self.epoch_label} {int(metrics['epoch'])}: {json.dumps(rounded)}")
        if improved and self.on_improved is not None:
            self.on_improved(self)

    def total_steps(self) -> int:
        """Optimiser steps of the run: every epoch's batches, capped by ``max_steps``."""
        import torch

        per_epoch = len(batch_order(self.data.lengths, self.args.batch_size, torch.Generator()))
        total = per_epoch * self.args.epochs
        return total if self.args.max_steps is None else min(total, self.args.max_steps)

    def fit(self) -> FitResult:
        """Run the loop; the model ends with the best epoch's weights (the last if none improved)."""
        import torch
        from tqdm.auto import tqdm

        total = self.total_steps()
        optim, sched = self.create_optimizer(total)
        gen = torch.Generator().manual_seed(self.args.seed)
        # -1.0, not -inf: without a dev split the score is a negative loss, and an epoch counts as
        # an improvement only once that loss is below 1 (kept as it was when the loop was split).
        best_score, best_state, bad_epochs = -1.0, None, 0
        bar = tqdm(total=total, disable=not self.progress, mininterval=5.0, desc=self.desc)
        t0 = time.monotonic()
        for epoch in range(self.args.epochs):
            epoch_loss = self._epoch(optim, sched, gen, total, bar)
            metrics = self.evaluate(epoch_loss)
            metrics.update(
                epoch=float(epoch + 1), step=float(self.step), elapsed_s=round(time.monotonic() - t0, 1)
            )
            self.history.append(metrics)
            improved = metrics["mean_macro_f1"] > best_score
            if improved:
                best_score, best_state, self.best_metrics = metrics["mean_macro_f1"], self.snapshot(), metrics
                bad_epochs = 0
            else:
                bad_epochs += 1
            self.on_epoch_end(metrics, improved)
            patience = self.args.patience
            if self.step >= total or (patience is not None and bad_epochs >= patience):
                break
        bar.close()
        if best_state is not None:
            self.model.load_state_dict(best_state, strict=False)
        return FitResult(best_metrics=self.best_metrics, history=self.history, losses=self.losses)

    def _epoch(self, optim: Any, sched: Any, gen: Any, total: int, bar: Any) -> float:
        """One pass over the batches (stopping at ``total`` steps); returns the summed loss."""
        import torch

        params = [p for p in self.model.parameters() if p.requires_grad]
        self.model.train()
        epoch_loss = 0.0
        for idx in batch_order(self.data.lengths, self.args.batch_size, gen):
            if self.step >= total:
                break
            loss = self.compute_loss(self.data.batch(idx), idx)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            if self.args.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, self.args.max_grad_norm)
            optim.step()
            sched.step()
            self.step += 1
            self.losses.append(float(loss.detach()))
            epoch_loss += self.losses[-1]
            bar.update(1)
            bar.set_postfix(loss=f"{self.losses[-1]:.3f}", refresh=False)
        return epoch_loss
