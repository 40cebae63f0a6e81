"""Active-learning ranking: least certain first, disagreement between models counts, texts once."""

from __future__ import annotations

import pytest

from finsent.lifecycle import Candidate, rank_candidates
from finsent.lifecycle.active import disagreement, margin_uncertainty

SURE_TOPIC = [0.9] + [0.1 / 19] * 19


@pytest.mark.parametrize(
    ("probs", "expected"),
    [([1.0, 0.0, 0.0], 0.0), ([0.5, 0.5, 0.0], 1.0), ([0.6, 0.3, 0.1], 0.7), ([1.0], 0.0)],
)
def test_margin_uncertainty(probs: list[float], expected: float) -> None:
    assert margin_uncertainty(probs) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cur", "prev", "expected"),
    [([0.8, 0.1, 0.1], None, 0.0), ([0.8, 0.1, 0.1], [0.8, 0.1, 0.1], 0.0), ([1, 0, 0], [0, 0, 1], 1.0)],
)
def test_disagreement(cur: list[float], prev: list[float] | None, expected: float) -> None:
    assert disagreement(cur, prev) == pytest.approx(expected)


def _c(
    aid: str, sent: list[float], prev: list[float] | None = None, text: str | None = None, ts: float = 0
) -> Candidate:
    return Candidate(aid, text or f"headline {aid}", sent, SURE_TOPIC, prev, SURE_TOPIC if prev else None, ts)


def test_ranking_prefers_uncertain_and_disagreeing_articles() -> None:
    candidates = [
        _c("sure", [0.95, 0.03, 0.02]),
        _c("unsure", [0.4, 0.35, 0.25]),
        _c("flipped", [0.9, 0.05, 0.05], prev=[0.02, 0.03, 0.95]),
        _c("mild", [0.7, 0.2, 0.1]),
    ]
    ranked = rank_candidates(candidates, 3)
    assert [p.article_id for p in ranked] == ["unsure", "flipped", "mild"]
    assert "disagree on sentiment (positive -> negative" in ranked[1].reason
    assert "unsure of sentiment" in ranked[0].reason


def test_same_text_is_proposed_once_and_newer_wins_ties() -> None:
    candidates = [
        _c("old", [0.5, 0.5, 0.0], text="Same headline", ts=1),
        _c("new", [0.5, 0.5, 0.0], text="same  headline", ts=2),
        _c("other", [0.5, 0.5, 0.0], ts=0),
    ]
    assert [p.article_id for p in rank_candidates(candidates, 10)] == ["new", "other"]
