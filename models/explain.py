"""Why a text scored as it did: the sentences and the words that moved its sentiment most.

Method: occlusion, with the same :class:`~finsent.models.inference.Classifier` that scores the
stream. A sentence's *effect* is how much the whole text's score (``P(pos) - P(neg)``) changes when
the sentence is left out of the roll-up; a word's *delta* is how much its sentence's score drops
when the word is deleted. Chosen over integrated gradients because it is model-agnostic: it runs
on every backend, including ONNX Runtime int8, which has no gradients; it needs no baseline
input, and its numbers mean exactly "what removing this does", which is what an analyst asks.
Its cost (one batched pass over the sentence's word-deleted variants) is fine on request; it is
never run in the stream.

Units are the headline and the body's sentences; the caller gives them (the stream's sentence
splitter, or the sentences stored with the article) together with the roll-up that turns unit
probabilities into the article's (``finsent.stream.rollup.rollup``), so explanations follow the
formula the stream scores with. Without a roll-up the text is one unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from finsent.models.labels import SENTIMENT_LABELS

if TYPE_CHECKING:
    from finsent.models.inference import Classifier

__all__ = ["Explanation", "SentenceEffect", "Unit", "WordDelta", "explain", "word_spans"]

#: Roll-up of ``(sentence index or None for the headline, sentiment probs)`` -> probs.
Rollup = Callable[[Sequence[tuple[int | None, Sequence[float]]]], Sequence[float]]

#: A word: letters/digits with inner apostrophes, dots, hyphens (``Q3``, ``U.S.``, ``$4.5bn``, ``-12%``).
_WORD = re.compile("[$\u20ac\u00a3]?[^\\W_](?:[\\w'\u2019.,&-]*[^\\W_])?%?")
MAX_WORDS_PER_SENTENCE = 64


@dataclass(frozen=True)
class Unit:
    """One scored unit: the headline (``index=None``) or body sentence ``index``.

    ``start``/``end`` are character offsets into ``field`` (``title``, ``body`` or ``text``).
    """

    text: str
    field: str
    start: int
    end: int
    index: int | None = None


@dataclass(frozen=True)
class SentenceEffect:
    """A unit's own score and its effect on the whole score (``+`` = pushed it positive)."""

    idx: int
    field: str
    start: int
    end: int
    text: str
    score: float
    sentiment: str
    confidence: float
    effect: float
    top: bool


@dataclass(frozen=True)
class WordDelta:
    """A word of a top sentence: ``delta`` = score(sentence) - score(sentence without it).

    ``weight`` is the word's push towards positive in log-odds (see :func:`_push`), divided by the
    largest such push among the returned words (-1..1): a confident sentence's probabilities
    saturate, so its words' ``delta`` is tiny even for the word that carries it; log-odds rank
    them faithfully (words are ranked by ``|weight|``).
    """

    sentence: int
    field: str
    start: int
    end: int
    text: str
    delta: float
    weight: float


@dataclass(frozen=True)
class Explanation:
    """The explanation of one text (``to_dict`` is the JSON the API and ``--json`` return)."""

    model_version: str
    backend: str
    score: float
    sentiment: str
    sentiment_probs: list[float]
    sentences: list[SentenceEffect]
    words: list[WordDelta]
    method: str = "occlusion"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` (punctuation around them left out)."""
    return [m.span() for m in _WORD.finditer(text)]


def _score(probs: Sequence[float]) -> float:
    return float(probs[2]) - float(probs[0])


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-9), 1.0 - 1e-9)
    return math.log(p) - math.log1p(-p)


def _push(base: Sequence[float], without: Sequence[float]) -> float:
    """A word's push towards positive, in log-odds: of the sentence's predicted class when it is
    negative or positive (the tail probabilities of a confident sentence are noise), of positive
    against negative for a neutral one."""
    label = max(range(3), key=lambda i: base[i])
    if label == 0:
        return _logit(without[0]) - _logit(base[0])
    if label == 2:
        return _logit(base[2]) - _logit(without[2])
    odds = math.log(float(base[2]) + 1e-9) - math.log(float(base[0]) + 1e-9)
    return odds - (math.log(float(without[2]) + 1e-9) - math.log(float(without[0]) + 1e-9))


def _without(text: str, start: int, end: int) -> str:
    return " ".join(f"{text[:start]} {text[end:]}".split())


def _effects(
    units: Sequence[Unit], probs: list[list[float]], rollup: Rollup | None
) -> tuple[list[float], list[float]]:
    """Whole-text probs and each unit's effect (whole score minus the score without the unit)."""
    if rollup is None or len(units) == 1:
        return probs[0], [_score(probs[0])] * len(units)
    keyed = [(u.index, p) for u, p in zip(units, probs, strict=True)]
    whole = [float(x) for x in rollup(keyed)]
    effects = [_score(whole) - _score(rollup(keyed[:i] + keyed[i + 1 :])) for i in range(len(units))]
    return whole, effects


def explain(
    classifier: Classifier,
    units: Sequence[Unit] | str,
    *,
    rollup: Rollup | None = None,
    top_sentences: int = 3,
    top_words: int = 6,
) -> Explanation:
    """Explain the sentiment of a text by occlusion (see the module docstring).

    Args:
        classifier: The model that scores (any backend).
        units: The text's units in text order, or a plain string (one unit, field ``text``).
        rollup: How unit probabilities make the whole text's (needed for more than one unit).
        top_sentences: How many units (largest ``|effect|``) get word attributions.
        top_words: Words kept per top unit (largest ``|delta|``).

    Raises:
        EmptyTextError: a unit is empty.
        ValueError: no units, or several without a roll-up.
    """
    if isinstance(units, str):
        units = [Unit(units, "text", 0, len(units))]
    if not units:
        raise ValueError("nothing to explain")
    if len(units) > 1 and rollup is None:
        raise ValueError("several units need the roll-up that combines them")
    scores = classifier.predict([u.text for u in units])
    probs = [list(s.sentiment_probs) for s in scores]
    whole, effects = _effects(units, probs, rollup)
    ranked = sorted(range(len(units)), key=lambda i: -abs(effects[i]))[: max(top_sentences, 0)]
    sentences = [
        SentenceEffect(
            idx=i,
            field=u.field,
            start=u.start,
            end=u.end,
            text=u.text,
            score=s.score,
            sentiment=s.sentiment,
            confidence=s.confidence,
            effect=effects[i],
            top=i in ranked,
        )
        for i, (u, s) in enumerate(zip(units, scores, strict=True))
    ]
    words = _word_deltas(classifier, units, probs, [sentences[i] for i in sorted(ranked)], top_words)
    label = SENTIMENT_LABELS[max(range(len(whole)), key=whole.__getitem__)]
    return Explanation(
        model_version=classifier.version,
        backend=classifier.backend_name,
        score=_score(whole),
        sentiment=label,
        sentiment_probs=whole,
        sentences=sentences,
        words=words,
    )


def _word_deltas(
    classifier: Classifier,
    units: Sequence[Unit],
    base_probs: Sequence[Sequence[float]],
    top: Sequence[SentenceEffect],
    keep: int,
) -> list[WordDelta]:
    """Occlude each word of the top units, all variants in one batched ``predict``."""
    variants: list[str] = []
    owners: list[tuple[SentenceEffect, tuple[int, int]]] = []
    for sent in top:
        for span in word_spans(sent.text)[:MAX_WORDS_PER_SENTENCE]:
            rest = _without(sent.text, *span)
            if rest:  # a one-word unit: deleting it leaves nothing to score
                variants.append(rest)
                owners.append((sent, span))
    if not variants:
        return []
    rows = []
    for (sent, (s, e)), scored in zip(owners, classifier.predict(variants), strict=True):
        base = units[sent.idx]
        odds = _push(base_probs[sent.idx], scored.sentiment_probs)
        rows.append((odds, sent, base.start + s, base.start + e, sent.text[s:e], sent.score - scored.score))
    per: dict[int, int] = {}
    kept = []
    for row in sorted(rows, key=lambda r: -abs(r[0])):
        if per.get(row[1].idx, 0) < keep:
            per[row[1].idx] = per.get(row[1].idx, 0) + 1
            kept.append(row)
    scale = max((abs(r[0]) for r in kept), default=0.0) or 1.0
    return [WordDelta(u.idx, u.field, a, b, txt, delta, odds / scale) for odds, u, a, b, txt, delta in kept]
