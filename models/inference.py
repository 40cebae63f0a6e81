"""The inference engine: one ``Classifier.predict(texts) -> list[Score]`` for every caller."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.entities import EntityScore, EntityTarget, entity_score
from finsent.models.exceptions import EmptyTextError, EntitySpanError
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
from finsent.models.spans import normalize_with_offsets, raw_to_norm, token_mask
from finsent.models.text import normalize_text

if TYPE_CHECKING:
    import numpy as np

    from finsent.models.backends import Backend

__all__ = ["Classifier", "Score"]

log = logging.getLogger(__name__)

#: Characters kept before tokenising: far more than ``max_length`` tokens ever need, so a
#: 100 kB text costs no more than a headline.
_CHARS_PER_TOKEN_CAP = 16


@dataclass(frozen=True)
class Score:
    """Topic and sentiment of one text, and the sentiment of each entity asked for.

    ``score`` is P(positive) - P(negative); ``confidence`` is the probability of the predicted
    sentiment class. ``entities`` has one :class:`EntityScore` per target given to ``predict``
    (in that order), or is empty when no targets were given or the version has no entity head.
    """

    topic: int
    topic_label: str
    topic_probs: list[float]
    sentiment: str
    sentiment_probs: list[float]
    score: float
    confidence: float
    model_version: str
    entities: tuple[EntityScore, ...] = ()


class Classifier:
    """A loaded model version ready to score texts (batched, length-sorted, order kept)."""

    def __init__(
        self,
        backend: Backend,
        tokenizer: Any,
        version: str,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        entity_head: Any = None,
    ) -> None:
        self._backend = backend
        self._tokenizer = tokenizer
        self.version = version
        self.max_length = max_length
        self.batch_size = batch_size
        self._entity_head = entity_head
        self._lock = threading.Lock()

    @property
    def has_entity_head(self) -> bool:
        """Whether ``predict`` scores entity targets (False: ``Score.entities`` stays empty and
        callers fall back to the document score). Needs a version with an entity head, a
        backend that returns the encoder's token states and a fast tokenizer (char offsets)."""
        return (
            self._entity_head is not None
            and bool(getattr(self._backend, "token_states", False))
            and bool(getattr(self._tokenizer, "is_fast", False))
        )

    @property
    def backend_name(self) -> str:
        """Which path runs the model (``cuda-bf16``, ``fp32``, ``torch-int8``, ``onnx-int8``,
        ``distilled``)."""
        return self._backend.name

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        device: str = "auto",
        cpu_backend: str = "auto",
        max_length: int = 128,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
    ) -> Classifier:
        """Load a model version directory.

        Args:
            path: Version directory (``finsent_model.json`` inside).
            device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
            cpu_backend: ``auto`` (the fastest measured path within 0.5 macro-F1 points of fp32:
                the version's distilled variant where it passed its gate, else ONNX Runtime
                int8), ``fp32``, ``torch-int8``, ``onnx-int8`` or ``distilled``.
            max_length: Token limit per text (longer texts are truncated).
            batch_size: Texts per forward pass.
            cache_dir: Where the ONNX export of this version is cached (default:
                ``$FINSENT_ONNX_CACHE`` or ``~/.cache/finsent/onnx``); exported once per version.

        Returns:
            The classifier.
        """
        from finsent.models.backends import make_backend
        from finsent.models.cached_load import load_cached_onnx
        from finsent.models.network import load_version

        cached = load_cached_onnx(path, device=device, cpu_backend=cpu_backend, cache_dir=cache_dir)
        if cached is not None:
            backend, tokenizer, version, head = (
                cached.backend,
                cached.tokenizer,
                cached.version,
                cached.entity_head,
            )
            log.info(
                "loaded model %s on %s (cached export; the torch encoder was not built)",
                version,
                backend.name,
            )
        else:
            loaded = load_version(path)
            backend = make_backend(loaded, device=device, cpu_backend=cpu_backend, cache_dir=cache_dir)
            tokenizer, version, head = loaded.tokenizer, loaded.version, loaded.model.entity_head
            log.info("loaded model %s on %s", version, backend.name)
        return cls(
            backend, tokenizer, version, max_length=max_length, batch_size=batch_size, entity_head=head
        )

    def predict(
        self, texts: Sequence[str], targets: Sequence[Sequence[EntityTarget]] | None = None
    ) -> list[Score]:
        """Score texts; the result has one :class:`Score` per text, in input order.

        Args:
            texts: Raw texts (normalised here).
            targets: Per text, the entities to score in it (spans are char offsets into that raw
                text). One encoder pass per text serves its document scores and all its targets.
                A target whose mentions were truncated away is scored from the whole text.

        Raises:
            EmptyTextError: A text is empty or whitespace only (nothing is scored then).
            EntitySpanError: A span is empty or outside its text (nothing is scored then).
        """
        if isinstance(texts, str):
            raise TypeError("predict() takes a sequence of texts, not one str")
        if targets is not None and len(targets) != len(texts):
            raise ValueError(f"{len(targets)} target lists for {len(texts)} texts")
        clean = self._prepare(texts)
        if not clean:
            return []
        if targets is not None:
            _check_spans(texts, targets)
        use = targets if targets is not None and self.has_entity_head and any(targets) else None
        if use is None:
            enc = self._tokenizer(clean, truncation=True, max_length=self.max_length)["input_ids"]
            offsets = None
        else:
            enc, offsets = self._tokenize_targets(texts, use)
        order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
        topic_p: list[Any] = [None] * len(enc)
        sent_p: list[Any] = [None] * len(enc)
        ents: list[tuple[EntityScore, ...]] = [()] * len(enc)
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                want = use is not None and any(use[i] for i in idx)
                t, s, states = self._backend.forward(_pad([enc[i] for i in idx], self._pad_id), states=want)
                for row, i in enumerate(idx):
                    topic_p[i], sent_p[i] = t[row], s[row]
                if want and use is not None and offsets is not None:
                    self._score_entities(states, [len(enc[i]) for i in idx], idx, use, offsets, ents)
        return [self._score(t, s, e) for t, s, e in zip(topic_p, sent_p, ents, strict=True)]

    def _tokenize_targets(
        self, texts: Sequence[str], targets: Sequence[Sequence[EntityTarget]]
    ) -> tuple[list[list[int]], list[list[list[int]]]]:
        """Token ids per text, and per target the token positions of its mentions."""
        cap = self.max_length * _CHARS_PER_TOKEN_CAP
        norms: list[str] = []
        srcs: list[list[int]] = []
        for text in texts:
            norm, src = normalize_with_offsets(text[: cap * 4])
            norms.append(norm[:cap])
            srcs.append([*src[: min(cap, len(norm))], src[min(cap, len(norm))]])
        enc = self._tokenizer(norms, truncation=True, max_length=self.max_length, return_offsets_mapping=True)
        mentions: list[list[list[int]]] = []
        for i, tgts in enumerate(targets):
            offs = enc["offset_mapping"][i]
            mentions.append(
                [token_mask(offs, [raw_to_norm(srcs[i], a, b) for a, b in tgt.spans]) for tgt in tgts]
            )
        return enc["input_ids"], mentions

    def _score_entities(
        self,
        states: Any,
        lengths: list[int],
        idx: list[int],
        targets: Sequence[Sequence[EntityTarget]],
        mentions: list[list[list[int]]],
        out: list[tuple[EntityScore, ...]],
    ) -> None:
        """Entity scores of one batch's texts (``states``: the batch's final token states)."""
        import torch

        rows, marks = [], []
        width = int(states.shape[1])
        for row, i in enumerate(idx):
            for positions in mentions[i]:
                mark = [0.0] * width
                for pos in positions:
                    mark[pos] = 1.0
                rows.append(row)
                marks.append(mark)
        if not rows:
            return
        mask = torch.zeros((len(idx), width))
        for row, n in enumerate(lengths):
            mask[row, :n] = 1.0
        with torch.inference_mode():
            logits = self._entity_head(
                torch.from_numpy(states), mask, torch.tensor(rows), torch.tensor(marks)
            )
            probs = torch.softmax(logits.float(), dim=-1).numpy()
        k = 0
        for i in idx:
            scores = []
            for tgt, positions in zip(targets[i], mentions[i], strict=True):
                scores.append(entity_score(tgt.key, probs[k], from_mentions=bool(positions)))
                k += 1
            out[i] = tuple(scores)

    @property
    def _pad_id(self) -> int:
        return int(self._tokenizer.pad_token_id or 0)

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        cap = self.max_length * _CHARS_PER_TOKEN_CAP
        out = []
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise EmptyTextError(f"text {i} is empty or whitespace only")
            out.append(normalize_text(text[: cap * 4])[:cap])
        return out

    def _score(self, topic: np.ndarray, sent: np.ndarray, entities: tuple[EntityScore, ...] = ()) -> Score:
        t_idx = int(topic.argmax())
        s_idx = int(sent.argmax())
        neg, pos = float(sent[0]), float(sent[2])
        return Score(
            topic=t_idx,
            topic_label=TOPIC_LABELS[t_idx],
            topic_probs=[float(x) for x in topic],
            sentiment=SENTIMENT_LABELS[s_idx],
            sentiment_probs=[float(x) for x in sent],
            score=pos - neg,
            confidence=float(sent[s_idx]),
            model_version=self.version,
            entities=entities,
        )


def _check_spans(texts: Sequence[str], targets: Sequence[Sequence[EntityTarget]]) -> None:
    """Every span must be a non-empty ``[start, end)`` inside its raw text."""
    for i, (text, tgts) in enumerate(zip(texts, targets, strict=True)):
        for tgt in tgts:
            for span in tgt.spans:
                ok = len(span) == 2 and all(isinstance(x, int) for x in span)
                if not ok or not 0 <= span[0] < span[1] <= len(text):
                    raise EntitySpanError(
                        f"text {i}, entity {tgt.key!r}: span {span!r} is not a non-empty range inside "
                        f"the text (length {len(text)})"
                    )


def _pad(seqs: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask
