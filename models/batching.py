"""Training batches: pre-tokenised examples padded per batch, cached frozen-layer states, and a
length-aware shuffled batch order (used by :class:`finsent.models.trainer.Trainer`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finsent.models.data import Example

__all__ = ["CachedBatches", "TokenBatches", "batch_order"]


class TokenBatches:
    """Pre-tokenised examples, padded per batch."""

    def __init__(self, tokenizer: Any, examples: Sequence[Example], max_length: int) -> None:
        from finsent.models.text import normalize_text

        enc = tokenizer([normalize_text(e.text) for e in examples], truncation=True, max_length=max_length)
        self.ids: list[list[int]] = enc["input_ids"]
        self.topic = [-100 if e.topic is None else e.topic for e in examples]
        self.sent = [-100 if e.sentiment is None else e.sentiment for e in examples]
        self.pad_id = int(tokenizer.pad_token_id or 0)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> list[int]:
        """Token count of every example (what batches are bucketed by)."""
        return [len(x) for x in self.ids]

    def batch(self, idx: Sequence[int]) -> dict[str, Any]:
        import torch

        width = max(len(self.ids[i]) for i in idx)
        ids = torch.full((len(idx), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            seq = self.ids[i]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "topic": torch.tensor([self.topic[i] for i in idx]),
            "sentiment": torch.tensor([self.sent[i] for i in idx]),
        }


class CachedBatches:
    """States after the frozen lower layers, computed once (frozen layers cost no more steps)."""

    def __init__(self, model: Any, data: TokenBatches, k: int, batch_size: int = 128) -> None:
        import torch

        self.k, self.topic, self.sent = k, data.topic, data.sent
        self.lengths = [len(x) for x in data.ids]
        self.states: list[Any] = [None] * len(data)
        order = sorted(range(len(data)), key=lambda i: self.lengths[i])
        model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                b = data.batch(idx)
                hidden = model.lower_states(b["input_ids"], b["attention_mask"], k)
                for row, i in enumerate(idx):
                    self.states[i] = hidden[row, : self.lengths[i]].clone()
        model.train()

    def __len__(self) -> int:
        return len(self.states)

    def batch(self, idx: Sequence[int]) -> dict[str, Any]:
        import torch

        width = max(self.lengths[i] for i in idx)
        dim = self.states[idx[0]].shape[-1]
        hidden = torch.zeros((len(idx), width, dim))
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            hidden[row, : self.lengths[i]] = self.states[i]
            mask[row, : self.lengths[i]] = 1
        return {
            "hidden": hidden,
            "attention_mask": mask,
            "topic": torch.tensor([self.topic[i] for i in idx]),
            "sentiment": torch.tensor([self.sent[i] for i in idx]),
        }


def batch_order(lengths: Sequence[int], batch_size: int, gen: Any) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within pools of 50 batches): less padding."""
    import torch

    perm = torch.randperm(len(lengths), generator=gen).tolist()
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(perm), pool):
        chunk = sorted(perm[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    shuffled = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[i] for i in shuffled]
