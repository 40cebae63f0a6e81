"""Relevance of an entity to its article: hand-made cases of the documented formula."""

from __future__ import annotations

import pytest

from finsent.ingest.entities import EntityTagger
from finsent.ingest.relevance import DECLARED_RELEVANCE, MentionStats, relevance

BODY = 2000


def _stats(in_title: bool = False, first: int | None = None, mentions: int = 1) -> MentionStats:
    return MentionStats(in_title=in_title, first_body_offset=first, body_length=BODY, mentions=mentions)


def test_headline_subject_beats_passing_body_mention() -> None:
    assert relevance(_stats(in_title=True), 2) > 2 * relevance(_stats(first=1800), 2)


def test_earlier_first_mention_is_more_relevant() -> None:
    assert relevance(_stats(first=0), 3) > relevance(_stats(first=1000), 3) > relevance(_stats(first=1990), 3)


def test_more_mentions_more_relevant_up_to_four() -> None:
    values = [relevance(_stats(first=100, mentions=n), 1) for n in (1, 2, 4, 40)]
    assert values[0] < values[1] < values[2] == values[3]


def test_more_companies_sharing_the_story_lowers_relevance() -> None:
    values = [relevance(_stats(in_title=True), k) for k in (1, 2, 5, 8, 50)]
    assert values == sorted(values, reverse=True)
    assert values[0] > values[1] > values[2] > values[3] == values[4] > 0


@pytest.mark.parametrize(
    ("stats", "companies", "expected"),
    [
        (_stats(in_title=True, mentions=2), 1, 0.9),
        (_stats(in_title=True, mentions=4), 1, 1.0),
        (_stats(first=0), 1, 0.595),  # 0.70 x 0.85
        (_stats(first=BODY), 5, 0.1328),  # 0.25 x 0.85 x 0.625
        (_stats(mentions=0), 1, 0.0),
    ],
)
def test_formula_values(stats: MentionStats, companies: int, expected: float) -> None:
    assert relevance(stats, companies) == pytest.approx(expected, abs=1e-4)


def test_bounds() -> None:
    for stats in (_stats(in_title=True, mentions=99), _stats(first=-5), _stats(first=10**9)):
        assert 0.0 <= relevance(stats, 0) <= 1.0


def test_tagger_uses_it() -> None:
    tagger = EntityTagger()
    body = "Markets were mixed. " * 30 + "Microsoft was also mentioned."
    entities = {e.ticker: e.relevance for e in tagger.tag("Apple and Tesla rally", body)}
    assert entities["AAPL"] == entities["TSLA"] > 3 * entities["MSFT"]
    alone = tagger.tag("Apple rallies")[0].relevance
    assert alone > entities["AAPL"]  # two companies share the other headline
    assert tagger.tag("Update", "", declared=["AAPL"])[0].relevance == DECLARED_RELEVANCE
