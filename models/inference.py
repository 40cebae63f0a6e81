"""The inference engine: one ``Classifier.predict(texts) -> list[Score]`` for every caller."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.exceptions import EmptyTextError
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
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
    """Topic and sentiment of one text.

    ``score`` is P(positive) - P(negative); ``confidence`` is the probability of the predicted
    sentiment class.
    """

    topic: int
    topic_label: str
    topic_probs: list[float]
    sentiment: str
    sentiment_probs: list[float]
    score: float
    confidence: float
    model_version: str


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
    ) -> None:
        self._backend = backend
        self._tokenizer = tokenizer
        self.version = version
        self.max_length = max_length
        self.batch_size = batch_size
        self._lock = threading.Lock()

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
        from finsent.models.network import load_version

        loaded = load_version(path)
        backend = make_backend(loaded, device=device, cpu_backend=cpu_backend, cache_dir=cache_dir)
        log.info("loaded model %s on %s", loaded.version, backend.name)
        return cls(backend, loaded.tokenizer, loaded.version, max_length=max_length, batch_size=batch_size)

    def predict(self, texts: Sequence[str]) -> list[Score]:
        """Score texts; the result has one :class:`Score` per text, in input order.

        Raises:
            EmptyTextError: A text is empty or whitespace only (nothing is scored then).
        """
        if isinstance(texts, str):
            raise TypeError("predict() takes a sequence of texts, not one str")
        clean = self._prepare(texts)
        if not clean:
            return []
        enc = self._tokenizer(clean, truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
        topic_p: list[Any] = [None] * len(enc)
        sent_p: list[Any] = [None] * len(enc)
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                t, s = self._backend.probs(_pad([enc[i] for i in idx], self._pad_id))
                for row, i in enumerate(idx):
                    topic_p[i], sent_p[i] = t[row], s[row]
        return [self._score(t, s) for t, s in zip(topic_p, sent_p, strict=True)]

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

    def _score(self, topic: np.ndarray, sent: np.ndarray) -> Score:
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
