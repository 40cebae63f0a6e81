"""Relevance of an entity to an article: how much the story is about it, in [0, 1].

The API and the live page show it as 0-100 (``round(100 * r)``). The formula::

    relevance = prominence x frequency x sharing

    prominence = 1.0                          if the entity is named in the headline
                 0.25 + 0.45 x (1 - p)         else, p = offset of its first body mention / body length
                                               (0.70 in the first sentence, 0.25 at the very end)
    frequency  = 0.8 + 0.2 x min(n, 4) / 4     n = mentions in headline and body (one name written
                                               twice in a row, "Caterpillar (NYSE: CAT)", is one)
    sharing    = max(0.5, 1 / (1 + 0.15 x (k - 1)))
                                               k = companies named in the article (1 alone, 0.87 for
                                               two, 0.5 from eight on)

A company that only its source declares (a feed's ticker field, never written in the text) gets
:data:`DECLARED_RELEVANCE`; a declared company that is also written keeps the larger value.

So the headline subject of a one-company story mentioned twice scores 0.9; the same company
named once at the end of a long body of a story about five companies 0.13.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DECLARED_RELEVANCE", "MentionStats", "relevance"]

#: Relevance of a ticker declared by the source but not written in the text.
DECLARED_RELEVANCE = 0.5


@dataclass(frozen=True)
class MentionStats:
    """What the relevance of one (article, entity) pair is computed from.

    Attributes:
        in_title: The entity is named in the headline.
        first_body_offset: Character offset of its first body mention (None: not in the body).
        body_length: Length of the body in characters.
        mentions: Mentions in headline and body together.
    """

    in_title: bool
    first_body_offset: int | None
    body_length: int
    mentions: int


def _prominence(stats: MentionStats) -> float:
    if stats.in_title:
        return 1.0
    if stats.first_body_offset is None:
        return 0.0
    position = min(1.0, max(0.0, stats.first_body_offset / max(stats.body_length, 1)))
    return 0.25 + 0.45 * (1.0 - position)


def relevance(stats: MentionStats, companies: int) -> float:
    """Relevance in [0, 1] of one entity to its article (the formula of the module docstring).

    Args:
        stats: Where and how often the entity is mentioned.
        companies: How many companies the article names (at least 1).

    Returns:
        The relevance, rounded to 4 digits; 0.0 for an entity that is never mentioned.
    """
    if stats.mentions <= 0:
        return 0.0
    frequency = 0.8 + 0.2 * min(stats.mentions, 4) / 4
    sharing = max(0.5, 1.0 / (1.0 + 0.15 * (max(companies, 1) - 1)))
    return round(min(1.0, _prominence(stats) * frequency * sharing), 4)
