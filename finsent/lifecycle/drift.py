"""Drift of the recent stream against the training data.

Three signals, each next to its reference so a reader can tell normal from drifted:

* **Prediction distribution** per topic and sentiment: shares of the production model's
  predictions on the recent stream vs its predictions on the gold set (a sample of the training
  data), and their population stability index (PSI; > 0.2 is the usual "shifted" mark).
* **Low-confidence share**: scores whose sentiment confidence is below a threshold, recent vs
  reference.
* **Out-of-vocabulary rate**: share of word tokens never seen in the training texts (new
  companies, events, slang), recent vs the gold texts' rate against the rest of the training
  data, with the most frequent new words; plus the tokenizer's ``[UNK]`` rate.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
from finsent.models.text import normalize_text

__all__ = [
    "DriftReport",
    "Prediction",
    "compute_drift",
    "oov_rate",
    "psi",
    "shares",
    "unk_rate",
    "vocabulary",
    "words",
]

_WORD = re.compile(r"\b(?:[a-z][a-z'\-]*[a-z]|[a-z])\b")


@dataclass(frozen=True)
class Prediction:
    """The parts of a score drift looks at."""

    topic: int
    sentiment: str
    confidence: float


@dataclass
class DriftReport:
    """Drift figures (``to_dict`` is the JSON form); ``flags`` name what looks shifted."""

    n_recent: int
    n_reference: int
    sentiment: dict[str, Any]
    topic: dict[str, Any]
    low_confidence: dict[str, Any]
    oov: dict[str, Any]
    flags: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        """Whether any signal crossed its threshold."""
        return bool(self.flags)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {**asdict(self), "drifted": self.drifted}


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters, inner ``'`` and ``-``); numbers, cashtags, links dropped."""
    clean = re.sub(r"[$#@]\w+", " ", normalize_text(text).lower())
    return _WORD.findall(clean)


def vocabulary(texts: Iterable[str]) -> set[str]:
    """Every word of ``texts``."""
    vocab: set[str] = set()
    for text in texts:
        vocab.update(words(text))
    return vocab


def oov_rate(texts: Iterable[str], vocab: set[str], top: int = 15) -> tuple[float, list[tuple[str, int]]]:
    """Share of word tokens outside ``vocab`` and the ``top`` most frequent of them."""
    total = 0
    unseen: Counter[str] = Counter()
    for text in texts:
        tokens = words(text)
        total += len(tokens)
        unseen.update(t for t in tokens if t not in vocab)
    rate = sum(unseen.values()) / total if total else 0.0
    return rate, unseen.most_common(top)


def unk_rate(tokenizer: Any, texts: Sequence[str], max_length: int = 128) -> float:
    """Share of ``[UNK]`` tokens among the tokenizer's tokens of ``texts`` (special tokens excluded)."""
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or not texts:
        return 0.0
    ids = tokenizer(
        [normalize_text(t) for t in texts], add_special_tokens=False, truncation=True, max_length=max_length
    )["input_ids"]
    total = sum(len(x) for x in ids)
    return sum(x.count(unk) for x in ids) / total if total else 0.0


def shares(values: Iterable[int], k: int) -> list[float]:
    """Share of each class ``0..k-1`` among ``values`` (all zeros when empty)."""
    counts = [0] * k
    n = 0
    for v in values:
        if 0 <= v < k:
            counts[v] += 1
            n += 1
    return [c / n if n else 0.0 for c in counts]


def psi(expected: Sequence[float], actual: Sequence[float], eps: float = 1e-4) -> float:
    """Population stability index of two class distributions (0 = identical)."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, eps), max(a, eps)
        total += (a - e) * math.log(a / e)
    return total


def _distribution(
    ref: Sequence[int], recent: Sequence[int], labels: Sequence[str], name: str, limit: float
) -> tuple[dict[str, Any], str | None]:
    ref_s, rec_s = shares(ref, len(labels)), shares(recent, len(labels))
    value = psi(ref_s, rec_s) if ref and recent else 0.0
    moved = sorted(range(len(labels)), key=lambda i: abs(rec_s[i] - ref_s[i]), reverse=True)[:3]
    data = {
        "psi": value,
        "reference": dict(zip(labels, ref_s, strict=True)),
        "recent": dict(zip(labels, rec_s, strict=True)),
        "largest_moves": [labels[i] for i in moved],
    }
    flag = f"{name} distribution shifted (PSI {value:.3f} > {limit})" if value > limit else None
    return data, flag


def compute_drift(
    reference: Sequence[Prediction],
    recent: Sequence[Prediction],
    *,
    recent_texts: Sequence[str],
    reference_texts: Sequence[str],
    vocab: set[str],
    low_confidence: float = 0.6,
    psi_alert: float = 0.2,
    oov_alert_ratio: float = 2.0,
    unk: tuple[float, float] | None = None,
) -> DriftReport:
    """Compare the recent stream with the training data.

    Args:
        reference: Production's predictions on training-data texts (the gold set).
        recent: Production's predictions on the recent stream.
        recent_texts: The recent texts (for the OOV rate).
        reference_texts: Training texts NOT in ``vocab`` (their OOV rate is the baseline).
        vocab: Words of the training texts.
        low_confidence: Sentiment confidence below which a score counts as unsure.
        psi_alert: PSI above which a distribution is flagged.
        oov_alert_ratio: Recent OOV rate above this multiple of the baseline is flagged.
        unk: ``(reference, recent)`` tokenizer ``[UNK]`` rates, if measured.
    """
    flags: list[str] = []
    sent_idx = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
    sentiment, flag_s = _distribution(
        [sent_idx.get(p.sentiment, -1) for p in reference],
        [sent_idx.get(p.sentiment, -1) for p in recent],
        SENTIMENT_LABELS,
        "sentiment",
        psi_alert,
    )
    topic, flag_t = _distribution(
        [p.topic for p in reference], [p.topic for p in recent], TOPIC_LABELS, "topic", psi_alert
    )
    flags += [f for f in (flag_s, flag_t) if f]
    low_ref = sum(p.confidence < low_confidence for p in reference) / len(reference) if reference else 0.0
    low_rec = sum(p.confidence < low_confidence for p in recent) / len(recent) if recent else 0.0
    if recent and reference and low_rec > max(2 * low_ref, low_ref + 0.1):
        flags.append(f"low-confidence share rose {low_ref:.3f} -> {low_rec:.3f}")
    base_rate, _ = oov_rate(reference_texts, vocab)
    rec_rate, new_words = oov_rate(recent_texts, vocab)
    if recent_texts and rec_rate > oov_alert_ratio * max(base_rate, 1e-3):
        flags.append(f"out-of-vocabulary rate {rec_rate:.3f} vs {base_rate:.3f} on training texts")
    oov: dict[str, Any] = {
        "reference_rate": base_rate,
        "recent_rate": rec_rate,
        "top_new_words": [{"word": w, "count": c} for w, c in new_words],
        "vocabulary_size": len(vocab),
    }
    if unk is not None:
        oov["unk_rate"] = {"reference": unk[0], "recent": unk[1]}
    return DriftReport(
        n_recent=len(recent),
        n_reference=len(reference),
        sentiment=sentiment,
        topic=topic,
        low_confidence={"threshold": low_confidence, "reference": low_ref, "recent": low_rec},
        oov=oov,
        flags=flags,
    )
