"""Active learning: which articles are most worth an analyst's label.

Two signals, both in [0, 1]:

* **uncertainty** -- ``1 - (p1 - p2)``, one minus the margin between the two most probable
  classes (margin sampling), the larger of the sentiment and the topic head's;
* **disagreement** -- the total-variation distance between the current and the previous
  model's class probabilities, the larger over the two heads (0 when no previous score).

An article's priority is the larger of the two; ties go to the newer article. Identical texts
(the same headline from two outlets) are proposed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
from finsent.models.text import normalize_text

__all__ = ["Candidate", "Proposal", "disagreement", "margin_uncertainty", "rank_candidates"]


@dataclass(frozen=True)
class Candidate:
    """An unlabeled, scored article."""

    article_id: str
    text: str
    sentiment_probs: Sequence[float]
    topic_probs: Sequence[float]
    prev_sentiment_probs: Sequence[float] | None = None
    prev_topic_probs: Sequence[float] | None = None
    published_ts: float = 0.0


@dataclass(frozen=True)
class Proposal:
    """A candidate with its priority and the reason it was chosen."""

    article_id: str
    text: str
    priority: float
    uncertainty: float
    disagreement: float
    sentiment: str
    topic: int
    reason: str


def margin_uncertainty(probs: Sequence[float]) -> float:
    """``1 - (p1 - p2)``: 1 when the two best classes tie, 0 when one class is certain."""
    if len(probs) < 2:
        return 0.0
    top = sorted(probs, reverse=True)
    return min(1.0, max(0.0, 1.0 - (top[0] - top[1])))


def disagreement(current: Sequence[float], previous: Sequence[float] | None) -> float:
    """Total-variation distance between two distributions (0 when ``previous`` is missing)."""
    if previous is None or len(previous) != len(current):
        return 0.0
    return min(1.0, 0.5 * sum(abs(a - b) for a, b in zip(current, previous, strict=True)))


def _argmax(probs: Sequence[float]) -> int:
    return max(range(len(probs)), key=probs.__getitem__)


def _proposal(c: Candidate) -> Proposal:
    u_sent, u_topic = margin_uncertainty(c.sentiment_probs), margin_uncertainty(c.topic_probs)
    d_sent = disagreement(c.sentiment_probs, c.prev_sentiment_probs)
    d_topic = disagreement(c.topic_probs, c.prev_topic_probs)
    uncertainty, dis = max(u_sent, u_topic), max(d_sent, d_topic)
    sentiment, topic = SENTIMENT_LABELS[_argmax(c.sentiment_probs)], _argmax(c.topic_probs)
    if dis > uncertainty:
        if d_sent >= d_topic and c.prev_sentiment_probs is not None:
            prev = SENTIMENT_LABELS[_argmax(c.prev_sentiment_probs)]
            reason = f"models disagree on sentiment ({prev} -> {sentiment}, distance {d_sent:.2f})"
        else:
            prev_t = TOPIC_LABELS[_argmax(c.prev_topic_probs)] if c.prev_topic_probs else "?"
            reason = f"models disagree on topic ({prev_t} -> {TOPIC_LABELS[topic]}, distance {d_topic:.2f})"
    elif u_sent >= u_topic:
        reason = f"unsure of sentiment (margin {1 - u_sent:.2f}, best {sentiment})"
    else:
        reason = f"unsure of topic (margin {1 - u_topic:.2f}, best {TOPIC_LABELS[topic]})"
    return Proposal(
        article_id=c.article_id,
        text=c.text,
        priority=max(uncertainty, dis),
        uncertainty=uncertainty,
        disagreement=dis,
        sentiment=sentiment,
        topic=topic,
        reason=reason,
    )


def rank_candidates(candidates: Iterable[Candidate], n: int) -> list[Proposal]:
    """The ``n`` candidates most worth labeling, highest priority first, one per distinct text."""
    items = [(c.published_ts, _proposal(c)) for c in candidates if c.text.strip()]
    items.sort(key=lambda pair: (-pair[1].priority, -pair[0], pair[1].article_id))
    seen: set[str] = set()
    out: list[Proposal] = []
    for _, proposal in items:
        key = normalize_text(proposal.text).lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(proposal)
        if len(out) >= n:
            break
    return out
