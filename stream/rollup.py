"""Roll scored units (headline, body sentences) up to one article or entity sentiment.

Formula (documented in the README's "Whole-article scoring" section too). For the units ``i``
that count (all of the article's for the document, those that mention the entity for an
entity), with sentiment probabilities ``p_i = (neg, neu, pos)``:

    w_i = pos_i * conf_i * (LAMBDA + 1 - p_i[neu])
    p   = sum_i w_i * p_i / sum_i w_i

* ``pos_i`` (position): :data:`HEADLINE_WEIGHT` for the headline, ``1 / sqrt(1 + k)`` for the
  body's sentence ``k`` (0-based): the lead states the gist, later paragraphs still count.
* ``conf_i``: the unit's confidence (its largest probability): an unsure unit weighs less.
* ``LAMBDA + 1 - p_i[neu]`` (polarity): a sentence that carries news (clearly negative or
  positive) weighs up to ``(1 + LAMBDA) / LAMBDA`` = 6 times a boilerplate sentence
  (datelines, "the shares have gained 3% this year"), so bad news in paragraph four is not
  averaged away by neutral filler, while an article of neutral sentences stays neutral.

The rolled-up ``score`` is ``p[pos] - p[neg]``, the label its argmax and the confidence its max,
exactly as for one text. Topic probabilities are the position-weighted mean over the headline
and the first :data:`TOPIC_LEAD_SENTENCES` sentences (the lead says what a story is about).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["HEADLINE_WEIGHT", "LAMBDA", "TOPIC_LEAD_SENTENCES", "position_weight", "rollup", "unit_weight"]

#: Position weight of the headline (a sentence at the top of the body weighs 1).
HEADLINE_WEIGHT = 2.0
#: Floor of the polarity factor (how much a purely neutral unit still counts).
LAMBDA = 0.2
#: Body sentences that vote on the topic besides the headline.
TOPIC_LEAD_SENTENCES = 3

_NEUTRAL = 1


def position_weight(sentence_index: int | None) -> float:
    """Weight of a unit's position: the headline (``None``) or body sentence ``k``."""
    if sentence_index is None:
        return HEADLINE_WEIGHT
    return 1.0 / math.sqrt(1.0 + sentence_index)


def unit_weight(sentence_index: int | None, probs: Sequence[float]) -> float:
    """``w_i`` of the module formula for one unit."""
    confidence = max(probs)
    return position_weight(sentence_index) * confidence * (LAMBDA + 1.0 - probs[_NEUTRAL])


def rollup(units: Sequence[tuple[int | None, Sequence[float]]]) -> list[float]:
    """Weighted mean of the units' probabilities (``(sentence_index or None, probs)`` each).

    Raises:
        ValueError: no units.
    """
    if not units:
        raise ValueError("nothing to roll up")
    weights = [unit_weight(k, p) for k, p in units]
    total = sum(weights)
    if total <= 0.0:  # cannot happen with real probabilities; keep a defined answer anyway
        weights, total = [1.0] * len(units), float(len(units))
    width = len(units[0][1])
    return [sum(w * p[j] for w, (_, p) in zip(weights, units, strict=True)) / total for j in range(width)]


def topic_rollup(units: Sequence[tuple[int | None, Sequence[float]]]) -> list[float]:
    """Position-weighted mean topic probabilities of the headline and the lead sentences."""
    lead = [(k, p) for k, p in units if k is None or k < TOPIC_LEAD_SENTENCES] or list(units)
    weights = [position_weight(k) for k, _ in lead]
    total = sum(weights)
    width = len(lead[0][1])
    return [sum(w * p[j] for w, (_, p) in zip(weights, lead, strict=True)) / total for j in range(width)]
