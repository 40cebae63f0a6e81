"""SimHash fingerprints, story clusters and novelty (in memory)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finsent.ingest.items import RawItem
from finsent.ingest.normalize import Normalizer, story_text
from finsent.ingest.simhash import content_words, hamming, jaccard, simhash, to_signed, to_unsigned
from finsent.ingest.store import MemoryArticleStore
from finsent.ingest.stories import StoryIndex, novelty_for

T0 = datetime(2025, 1, 6, 14, 0, tzinfo=UTC)

REWORDED = [
    (
        "Apple shares fall 5% after weak iPhone sales in China",
        "Apple shares drop 5% after weak iPhone sales in China",
    ),
    (
        "Tesla recalls 200,000 vehicles over faulty rear-view cameras",
        "Tesla is recalling 200,000 cars over faulty rear-view cameras",
    ),
    (
        "Microsoft to acquire Activision Blizzard for $68.7 billion",
        "Microsoft agrees to acquire Activision Blizzard in $68.7 billion deal",
    ),
]
UNRELATED = [
    ("Apple shares fall 5% after weak iPhone sales in China", "Oil prices climb as OPEC extends output cuts"),
    ("Broadcom price target raised to $361 at Halvorsen", "Avnet price target raised to $37 at Halvorsen"),
    ("Fed holds rates steady, signals patience", "Tesla recalls 200,000 vehicles over faulty cameras"),
]


def test_simhash_is_stable_and_signed_roundtrip() -> None:
    h = simhash("Apple shares fall after weak sales")
    assert h == simhash("apple SHARES fall after weak sales!")
    assert 0 <= h < 2**64
    assert to_unsigned(to_signed(h)) == h
    assert -(2**63) <= to_signed(h) < 2**63
    assert simhash("") == simhash("the of and") == 0


@pytest.mark.parametrize(("a", "b"), REWORDED)
def test_reworded_stories_match(a: str, b: str) -> None:
    index = StoryIndex()
    index.add(simhash(a), content_words(a), "story-1", T0)
    match = index.match(simhash(b), content_words(b))
    assert match is not None and match.cluster_id == "story-1"


@pytest.mark.parametrize(("a", "b"), UNRELATED)
def test_unrelated_stories_do_not_match(a: str, b: str) -> None:
    tagger_tickers = {"Broadcom": frozenset({"AVGO"}), "Avnet": frozenset({"AVT"})}
    ta = next((v for k, v in tagger_tickers.items() if k in a), frozenset())
    tb = next((v for k, v in tagger_tickers.items() if k in b), frozenset())
    index = StoryIndex()
    index.add(simhash(a), content_words(a), "story-1", T0, ta)
    assert index.match(simhash(b), content_words(b), tb) is None


def test_similarity_measures() -> None:
    a, b = REWORDED[0]
    assert hamming(simhash(a), simhash(a)) == 0
    assert jaccard(content_words(a), content_words(b)) >= 0.5
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_old_stories_close_after_the_window() -> None:
    a, b = REWORDED[0]
    index = StoryIndex(window=timedelta(hours=1))
    index.add(simhash(a), content_words(a), "story-1", T0)
    assert index.match(simhash(b), content_words(b), now=T0 + timedelta(minutes=30)) is not None
    assert index.match(simhash(b), content_words(b), now=T0 + timedelta(hours=2)) is None


def test_index_grows_and_evicts() -> None:
    index = StoryIndex(window=timedelta(minutes=10))
    for i in range(3000):
        text = f"unique headline number {i} about item{i} and thing{i * 7}"
        index.add(simhash(text), content_words(text), f"c{i}", T0 + timedelta(seconds=i))
    assert 0 < len(index) <= 3000
    assert index.reports("c2999") == 1


@pytest.mark.parametrize(("prior", "novelty"), [(0, 1.0), (1, 0.5), (2, 0.25), (5, 0.03125)])
def test_novelty_decays(prior: int, novelty: float) -> None:
    assert novelty_for(prior) == pytest.approx(novelty)


def test_memory_store_dedups_exactly_and_clusters_near_duplicates() -> None:
    normalizer = Normalizer(detect_languages=False)
    store = MemoryArticleStore()

    def article(source: str, url: str, title: str):  # type: ignore[no-untyped-def]
        return normalizer.normalize(RawItem(source, title, url=url, fetched_at=T0))

    first = article("wire-a", "https://a.example/1?utm_source=x", REWORDED[0][0])
    same_url = article("wire-b", "https://a.example/1", "A different title entirely about bananas")
    same_text = article("wire-c", "https://c.example/9", REWORDED[0][0])
    reworded = article("wire-d", "https://d.example/5", REWORDED[0][1])
    third = article("wire-e", "https://e.example/5", "Apple shares slide 5% after weak iPhone sales in China")
    result = store.add([first, same_url, same_text, reworded, third])
    # Same link, another headline: a distinct item (feeds share links); same text: a duplicate.
    assert [a.id for a in result.new] == [first.id, same_url.id, reworded.id, third.id]
    assert result.duplicates == 1
    assert first.cluster_id == first.id and first.novelty == 1.0
    assert reworded.cluster_id == first.id and reworded.novelty == 0.5
    assert third.cluster_id == first.id and third.novelty == 0.25
    assert story_text(first.title, first.body).startswith(first.title)
