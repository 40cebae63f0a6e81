"""The synthetic demo feed: deterministic, varied, with plantable bursts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from finsent.ingest.config import parse_sources
from finsent.ingest.demo import DemoFeed, PlantedEvent, write_corpus
from finsent.ingest.fetch import Fetcher
from finsent.ingest.items import RawItem
from finsent.ingest.normalize import Normalizer
from finsent.ingest.sources import DemoSource, PollContext, iter_file_items

T0 = datetime(2025, 1, 6, 14, 0, tzinfo=UTC)


def test_same_seed_same_feed_other_seed_other_feed() -> None:
    a = DemoFeed(seed=1).items_between(T0, T0 + timedelta(minutes=5))
    assert a == DemoFeed(seed=1).items_between(T0, T0 + timedelta(minutes=5))
    assert [i.title for i in a] != [
        i.title for i in DemoFeed(seed=2).items_between(T0, T0 + timedelta(minutes=5))
    ]


def test_items_do_not_depend_on_poll_cadence() -> None:
    feed = DemoFeed(seed=3, rate_per_min=30)
    whole = feed.items_between(T0, T0 + timedelta(minutes=4))
    pieces = []
    t = T0
    while t < T0 + timedelta(minutes=4):
        pieces += feed.items_between(t, t + timedelta(seconds=7))
        t += timedelta(seconds=7)
    assert [i.id for i in pieces if i.published_at < T0 + timedelta(minutes=4)] == [i.id for i in whole]
    assert all(T0 <= i.published_at < T0 + timedelta(minutes=4) for i in whole)


def test_rate_and_variety() -> None:
    items = DemoFeed(seed=5, rate_per_min=20).items_between(T0, T0 + timedelta(hours=1))
    assert 1000 < len(items) < 1400  # Poisson(20/min) over 60 minutes
    assert len({i.tickers[0] for i in items if i.tickers}) >= 25
    assert len({i.topic for i in items}) >= 15
    assert set(Counter(i.tone for i in items)) == {"negative", "neutral", "positive"}
    assert len({i.title for i in items}) > 0.6 * len(items)
    assert len({(i.title, i.body) for i in items}) == len(items)
    assert all(i.url.startswith("https://news.demo.finsent.invalid/") for i in items)


def test_planted_event_is_a_burst_of_its_tone_on_its_ticker() -> None:
    start = T0 + timedelta(minutes=10)
    event = PlantedEvent(
        "ACMR", start=start, duration=timedelta(minutes=10), tone="negative", rate_per_min=15
    )
    feed = DemoFeed(seed=9, rate_per_min=20, events=[event])
    items = feed.items_between(T0, T0 + timedelta(minutes=30))
    planted = [i for i in items if i.planted]
    assert 100 < len(planted) < 200
    assert all(
        start <= i.published_at < event.end and i.tickers[0] == "ACMR" and i.tone == "negative"
        for i in planted
    )
    before = [i for i in items if i.published_at < start and i.tickers and i.tickers[0] == "ACMR"]
    assert len(before) < 20  # background share of one of 32 companies
    baseline = DemoFeed(seed=9, rate_per_min=20).items_between(T0, T0 + timedelta(minutes=30))
    assert [i for i in items if not i.planted] == baseline  # planting adds, never changes the background


def test_unknown_event_ticker_gets_a_company() -> None:
    feed = DemoFeed(events=[PlantedEvent("ZZTOP", start=T0, duration=60, tone="positive", rate_per_min=30)])
    items = [i for i in feed.items_between(T0, T0 + timedelta(minutes=1)) if i.planted]
    assert items and all("Zztop Holdings" in i.title + i.body for i in items)


def test_demo_items_normalise_with_their_ticker_and_mostly_unique_hashes() -> None:
    items = DemoFeed(seed=4).items_between(T0, T0 + timedelta(minutes=8))
    normalizer = Normalizer(detect_languages=False)
    articles = [normalizer.normalize(i.to_raw("demo")) for i in items]
    assert all(a.tickers[: len(i.tickers)] or not i.tickers for a, i in zip(articles, items, strict=True))
    assert all(set(i.tickers) <= set(a.tickers) for a, i in zip(articles, items, strict=True))
    assert len({a.content_hash for a in articles}) == len(articles)
    assert all(not a.published_at_estimated for a in articles)


def test_corpus_roundtrip(tmp_path: Path) -> None:
    items = DemoFeed(seed=6).generate(50, T0)
    assert len(items) == 50
    path = tmp_path / "demo.jsonl"
    assert write_corpus(path, items) == 50
    entries = list(iter_file_items(path, source_id="bf"))
    assert all(isinstance(e, RawItem) for e in entries)
    assert [e.title for e in entries] == [i.title for i in items]  # type: ignore[union-attr]


def test_demo_source_polls_since_its_last_poll() -> None:
    config = parse_sources(
        {
            "sources": [
                {
                    "id": "demo",
                    "kind": "demo",
                    "rate_per_min": 60,
                    "events": [{"ticker": "X", "start": "+1m"}],
                }
            ]
        }
    ).sources[0]
    source = DemoSource(config, interval_s=60, origin=T0)  # type: ignore[arg-type]
    assert source.feed.events[0].start == T0 + timedelta(minutes=1)
    with Fetcher() as fetcher:
        ctx = PollContext(fetcher=fetcher, now=T0)
        first = source.poll(ctx)
        for stored in ctx.on_stored:  # what the crawler does once the items are stored
            stored()
        second = source.poll(PollContext(fetcher=fetcher, now=T0 + timedelta(seconds=30)))
    assert first.items and second.items
    assert {i.item_id for i in first.items}.isdisjoint({i.item_id for i in second.items})
    assert all(T0 - timedelta(seconds=60) <= i.published < T0 for i in first.items)  # type: ignore[operator]


def test_demo_cursor_stays_put_until_the_items_are_stored() -> None:
    config = parse_sources({"sources": [{"id": "demo", "kind": "demo", "rate_per_min": 60}]}).sources[0]
    source = DemoSource(config, interval_s=60, origin=T0)  # type: ignore[arg-type]
    with Fetcher() as fetcher:
        failed = source.poll(PollContext(fetcher=fetcher, now=T0))  # store failed: callbacks not run
        retry = source.poll(PollContext(fetcher=fetcher, now=T0 + timedelta(seconds=30)))
    assert failed.items
    assert {i.item_id for i in failed.items} <= {i.item_id for i in retry.items}


@pytest.mark.parametrize("rate", [0.5, 5.0, 120.0])
def test_generate_fills_n_at_any_rate(rate: float) -> None:
    assert len(DemoFeed(rate_per_min=rate).generate(30, T0)) == 30


def test_a_restarted_demo_source_catches_up_from_its_saved_cursor() -> None:
    config = parse_sources({"sources": [{"id": "demo", "kind": "demo", "rate_per_min": 60}]}).sources[0]
    with Fetcher() as fetcher:  # one crawl state shared by both runs, as PostgreSQL would be
        first_run = DemoSource(config, interval_s=5, origin=T0)  # type: ignore[arg-type]
        ctx = PollContext(fetcher=fetcher, now=T0)
        first_run.poll(ctx)
        for stored in ctx.on_stored:
            stored()
        restarted = DemoSource(config, interval_s=5, origin=T0)  # type: ignore[arg-type]
        later = T0 + timedelta(minutes=10)  # the crawler was down for ten minutes
        caught_up = restarted.poll(PollContext(fetcher=fetcher, now=later))
    expected = DemoFeed(seed=config.seed, rate_per_min=60).items_between(T0, later)  # type: ignore[attr-defined]
    assert len(expected) > 100
    assert {i.id for i in expected} <= {r.item_id for r in caught_up.items}
