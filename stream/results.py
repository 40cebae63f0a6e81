"""What the worker stores besides the document score: per-sentence and per-entity results.

These are the stream's side of the stream -> storage contract: :class:`stream.sink.ScoredItem`
carries lists of them, and the storage writer turns them into ``sentence_scores`` and
``entity_scores`` rows in the batch's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EntityResult", "EntitySource", "SentenceResult"]

#: ``entity``: the model's entity head scored the entity's own mentions; ``document``: the
#: article's document score copied (no entity head, or no usable span of the entity).
EntitySource = Literal["entity", "document"]


@dataclass(frozen=True)
class SentenceResult:
    """One scored sentence of an article's body.

    Attributes:
        index: 0-based position among the body's scored sentences (after the cap).
        start: first character of the sentence in ``ArticleRecord.body``.
        end: one past its last character (``body[start:end] == text``).
        text: the sentence as written in the body.
        sentiment: ``negative`` | ``neutral`` | ``positive``.
        sentiment_probs: probabilities in that order.
        score: P(positive) - P(negative).
        confidence: probability of ``sentiment``.
    """

    index: int
    start: int
    end: int
    text: str
    sentiment: str
    sentiment_probs: list[float]
    score: float
    confidence: float


@dataclass(frozen=True)
class EntityResult:
    """The sentiment of one entity (company) of an article.

    Attributes:
        ticker: canonical ticker (the entity key of the aggregates).
        name: company name, when ingest knew it (a blank name is stored as None).
        relevance: how much the article is about the entity, 0..1 (from ingest).
        sentiment: ``negative`` | ``neutral`` | ``positive``.
        sentiment_probs: probabilities in that order.
        score: P(positive) - P(negative).
        confidence: probability of ``sentiment``.
        source: ``entity`` (scored from its own mentions) or ``document`` (the document score).
        in_title: one of its kept mentions is in the headline.
        mentions: how many of its mention spans were kept after sanitising.
        units: how many scored units (headline, sentences) mention it.
    """

    ticker: str
    name: str | None
    relevance: float
    sentiment: str
    sentiment_probs: list[float]
    score: float
    confidence: float
    source: EntitySource
    in_title: bool = False
    mentions: int = 0
    units: int = 0
