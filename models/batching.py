"""Training batches: pre-tokenised examples padded per batch, cached frozen-layer states, and a
length-aware shuffled batch order (used by :class:`finsent.models.trainer.Trainer`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from finsent.models.data import Example

__all__ = ["CachedBatches", "TokenBatches", "batch_order", "entity_fields"]


class TokenBatches:
    """Pre-tokenised examples, padded per batch."""

    def __init__(
        self,
        tokenizer: Any,
        examples: Sequence[Example],
        max_length: int,
        entity_max_length: int | None = None,
    ) -> None:
        from finsent.models.text import normalize_text

        enc = tokenizer([normalize_text(e.text) for e in examples], truncation=True, max_length=max_length)
        self.ids: list[list[int]] = enc["input_ids"]
        self.topic = [-100 if e.topic is None else e.topic for e in examples]
        self.sent = [-100 if e.sentiment is None else e.sentiment for e in examples]
        self.pad_id = int(tokenizer.pad_token_id or 0)
        #: Per example: (mention token positions, label) of each labeled entity.
        self.ents: list[list[tuple[list[int], int]]] = [[] for _ in examples]
        with_ents = [i for i, e in enumerate(examples) if e.entities]
        if with_ents:
            self._tokenize_entities(tokenizer, examples, with_ents, entity_max_length or max_length)

    def _tokenize_entities(
        self, tokenizer: Any, examples: Sequence[Example], idx: list[int], max_length: int
    ) -> None:
        """Entity texts again, with char offsets, at their own token limit (longer than headlines)."""
        from finsent.models.spans import normalize_with_offsets, raw_to_norm, token_mask

        norm = [normalize_with_offsets(examples[i].text) for i in idx]
        enc = tokenizer(
            [n for n, _ in norm], truncation=True, max_length=max_length, return_offsets_mapping=True
        )
        for j, i in enumerate(idx):
            offsets, src = enc["offset_mapping"][j], norm[j][1]
            self.ids[i] = enc["input_ids"][j]
            self.ents[i] = [
                (token_mask(offsets, [raw_to_norm(src, e.start, e.end)]), e.sentiment)
                for e in examples[i].entities
            ]

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
            **entity_fields(self.ents, idx, width),
        }


class CachedBatches:
    """States after the frozen lower layers, computed once (frozen layers cost no more steps)."""

    def __init__(self, model: Any, data: TokenBatches, k: int, batch_size: int = 128) -> None:
        import torch

        self.k, self.topic, self.sent, self.ents = k, data.topic, data.sent, data.ents
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
            **entity_fields(self.ents, idx, width),
        }


def entity_fields(
    ents: Sequence[list[tuple[list[int], int]]], idx: Sequence[int], width: int
) -> dict[str, Any]:
    """A batch's entity tensors: ``ent_rows`` (E,) text row of each entity, ``ent_mask`` (E, T)
    its mention tokens, ``ent_labels`` (E,) its gold sentiment; empty dict without entities."""
    import torch

    rows, labels, marks = [], [], []
    for row, i in enumerate(idx):
        for positions, label in ents[i]:
            mark = torch.zeros(width)
            mark[[p for p in positions if p < width]] = 1.0
            rows.append(row)
            labels.append(label)
            marks.append(mark)
    if not rows:
        return {}
    return {
        "ent_rows": torch.tensor(rows),
        "ent_mask": torch.stack(marks),
        "ent_labels": torch.tensor(labels),
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
