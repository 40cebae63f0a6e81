"""The one training loop: its hooks, early stopping, best-epoch selection; distillation reuses it."""

from __future__ import annotations

from typing import Any

import pytest

from finsent.models.data import Example
from finsent.models.distill import DistillationTrainer
from finsent.models.trainer import Trainer, TrainerArgs


class _Tokenizer:
    """Whitespace 'tokenizer' over a fixed vocabulary (what TokenBatches needs)."""

    pad_token_id = 0

    def __call__(self, texts: list[str], **_: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [[1 + sum(map(ord, w)) % 50 for w in t.split()] for t in texts]}


def _toy_model() -> Any:
    import torch

    class Toy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(64, 8)
            self.topic_head = torch.nn.Linear(8, 20)
            self.sentiment_head = torch.nn.Linear(8, 3)

        def forward(self, ids: Any, mask: Any) -> tuple[Any, Any]:
            pooled = (self.embed(ids) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
            return self.topic_head(pooled), self.sentiment_head(pooled)

    torch.manual_seed(0)
    return Toy()


class _Scripted(Trainer):
    """Dev scores come from a script, so selection and stopping are known in advance."""

    def __init__(self, *args: Any, scores: list[float], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.scores = scores
        self.weights_seen: list[Any] = []

    def evaluate(self, epoch_loss: float) -> dict[str, float]:
        self.weights_seen.append(self.model.sentiment_head.weight.detach().clone())
        return {"mean_macro_f1": self.scores[len(self.history)]}


def test_patience_stops_the_run_and_the_best_epoch_is_restored() -> None:
    from finsent.models.batching import TokenBatches

    examples = [Example(f"word{i} up" if i % 2 else f"word{i} down", sentiment=i % 3) for i in range(12)]
    data = TokenBatches(_Tokenizer(), examples, 16)
    improved: list[float] = []
    trainer = _Scripted(
        _toy_model(),
        data,
        data,
        TrainerArgs(epochs=10, batch_size=4, seed=1, lr=0.05, patience=2),
        progress=False,
        on_log=lambda line: None,
        on_improved=lambda t: improved.append(t.best_metrics["epoch"]),
        scores=[0.5, 0.7, 0.6, 0.65, 0.9],
    )
    result = trainer.fit()
    assert [m["epoch"] for m in result.history] == [1.0, 2.0, 3.0, 4.0]  # 2 epochs without improvement
    assert improved == [1.0, 2.0]
    assert result.best_metrics["epoch"] == 2.0 and len(result.losses) == 4 * 3
    assert trainer.model.sentiment_head.weight.detach().equal(trainer.weights_seen[1])


def test_max_steps_caps_the_run() -> None:
    from finsent.models.batching import TokenBatches

    data = TokenBatches(_Tokenizer(), [Example(f"w{i}", sentiment=i % 3) for i in range(8)], 16)
    args = TrainerArgs(epochs=5, batch_size=2, seed=1, lr=0.01, max_steps=3)
    result = Trainer(_toy_model(), data, None, args, progress=False, on_log=lambda line: None).fit()
    assert len(result.losses) == 3 and result.history[-1]["step"] == 3.0


def test_distillation_overrides_hooks_not_the_loop() -> None:
    overridden = {name for name in vars(DistillationTrainer) if callable(getattr(Trainer, name, None))}
    assert overridden == {"__init__", "compute_loss", "create_optimizer", "evaluate"}
    assert DistillationTrainer.fit is Trainer.fit


@pytest.mark.parametrize("head_lr", [None, 0.5])
def test_heads_get_their_own_learning_rate(head_lr: float | None) -> None:
    from finsent.models.batching import TokenBatches

    data = TokenBatches(_Tokenizer(), [Example("a b", sentiment=0)], 16)
    args = TrainerArgs(epochs=1, batch_size=1, seed=1, lr=0.1, head_lr=head_lr)
    optim, _ = Trainer(_toy_model(), data, None, args, progress=False).create_optimizer(10)
    assert [g["initial_lr"] for g in optim.param_groups] == [0.1, 0.1 if head_lr is None else head_lr]
