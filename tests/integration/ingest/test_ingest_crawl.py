"""Crawls against a real local news server, the real PostgreSQL and the real broker."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from ingest_news_server import NewsServer
from sqlalchemy import Engine, func, select

from finsent.core.records import ArticleRecord
from finsent.core.settings import Settings
from finsent.ingest import OutboxPublisher, build_crawler, parse_sources
from finsent.ingest.crawler import Crawler
from finsent.storage.schema import Article, CrawlState, DeadLetter
from finsent.stream.kafka import DeliveryGuarantees, Producer

pytestmark = pytest.mark.integration

DEFAULTS = {"per_host_interval_s": 0, "retries": 1, "backoff_max_s": 0.1, "max_workers": 4}


def _rss(base: str, items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{base}{link}</link><description>{d}</description>"
        "<pubDate>Wed, 01 May 2024 13:45:00 GMT</pubDate></item>"
        for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>wire</title>{body}</channel></rss>'


def _atom(base: str, entries: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f'<entry><title>{t}</title><link href="{base}{link}"/><id>{base}{link}</id>'
        f"<updated>2024-05-01T14:00:00Z</updated><summary>{d}</summary></entry>"
        for t, link, d in entries
    )
    return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>desk</title>{body}</feed>'


def _page(title: str, text: str) -> str:
    para = " ".join([text] * 3)
    return (
        f"<html><head><title>{title}</title><script>track()</script></head><body><nav>Menu</nav>"
        f"<article><h1>{title}</h1><p>{para}</p><p>More details followed in a statement.</p></article>"
        "</body></html>"
    )


APPLE = (
    "Apple shares fall 5% after weak iPhone sales in China",
    "Apple Inc said iPhone sales in China dropped.",
)
TESLA = ("Tesla recalls 200,000 vehicles over faulty rear-view cameras", "The recall covers several models.")
TESLA_REWORDED = (
    "Tesla is recalling 200,000 cars over faulty rear-view cameras",
    "Several models are affected.",
)
NVIDIA = ("Nvidia unveils new AI chip, shares climb", "Nvidia (NVDA) showed its next accelerator.")


def _serve_everything(server: NewsServer) -> None:
    b = server.base
    server.route(
        "/rss",
        _rss(b, [(*APPLE[:1], "/news/apple?utm_source=rss", APPLE[1]), (TESLA[0], "/news/tesla", TESLA[1])]),
        content_type="application/rss+xml",
        etag='"rss-v1"',
    )
    server.route(
        "/atom",
        _atom(
            b,
            [
                (APPLE[0], "/news/apple", APPLE[1]),  # same story, same URL: exact duplicate
                (TESLA_REWORDED[0], "/desk/tesla-recall", TESLA_REWORDED[1]),  # reworded: same cluster
                (NVIDIA[0], "/desk/nvidia", NVIDIA[1]),
            ],
        ),
        content_type="application/atom+xml",
        last_modified="Wed, 01 May 2024 14:00:00 GMT",
    )
    server.route(
        "/newsroom/",
        '<a href="/newsroom/2024/boeing">1</a> <a href="/private/2024/leak">2</a> <a href="/about">x</a>',
    )
    server.route(
        "/newsroom/2024/boeing",
        _page("Boeing wins large jet order", "Boeing said an airline ordered 50 jets."),
    )
    server.route("/private/2024/leak", _page("Secret", "Should never be fetched."))
    server.route(
        "/api",
        '{"data": {"items": ['
        f'{{"id": "a1", "headline": "Microsoft to buy gaming studio", "link": "{b}/api/msft", '
        '"ts": 1714571100},'
        '{"id": "a2"}]}}',
        content_type="application/json",
        etag='"api-v1"',
    )


def _sources(server: NewsServer, **extra_defaults: Any) -> Any:
    b = server.base
    return parse_sources(
        {
            "defaults": {**DEFAULTS, **extra_defaults},
            "sources": [
                {"id": "wire", "kind": "rss", "url": f"{b}/rss"},
                {"id": "desk", "kind": "atom", "url": f"{b}/atom"},
                {
                    "id": "pages",
                    "kind": "html",
                    "index_url": f"{b}/newsroom/",
                    "link_pattern": r"/(newsroom|private)/\d{4}/",
                },
                {
                    "id": "api",
                    "kind": "json",
                    "url": f"{b}/api",
                    "items_path": "data.items",
                    "fields": {"title": "headline", "url": "link", "published_at": "ts"},
                },
            ],
        }
    )


def _crawler(
    sources: Any, settings: Settings, engine: Engine, bootstrap: str | None, topic: str | None
) -> Crawler:
    return build_crawler(sources, settings=settings, engine=engine, bootstrap=bootstrap, topic=topic)


def _count(engine: Engine, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Article).where(*where)).scalar_one())


def test_crawl_publishes_each_story_once_and_unchanged_feeds_cost_a_304(
    news_server: NewsServer,
    db_engine: Engine,
    settings_factory: Callable[..., Settings],
    topic_factory: Callable[..., str],
    consume: Callable[..., list[Any]],
    embedded_stack: Any,
) -> None:
    _serve_everything(news_server)
    settings = settings_factory(ingest={"allow_private_addresses": True, "user_agent": "finsent-it/1.0"})
    topic = topic_factory(partitions=2)
    crawler = _crawler(_sources(news_server), settings, db_engine, embedded_stack.kafka_bootstrap, topic)
    # wire and desk share the Apple story and the Tesla cluster: which one stores a story first is
    # a race when sources are polled in parallel, so poll them in order to pin the attribution.
    crawler.max_workers = 1
    try:
        report = crawler.crawl_once()
        by_id = {s.source_id: s for s in report.sources}
        assert (by_id["wire"].fetched, by_id["wire"].new) == (2, 2)
        assert (by_id["desk"].fetched, by_id["desk"].new, by_id["desk"].duplicates) == (3, 2, 1)
        assert by_id["pages"].new == 1 and by_id["pages"].errors == 1  # /private/ is disallowed
        assert "robots.txt disallows" in (by_id["pages"].last_error or "")
        assert by_id["api"].new == 1 and by_id["api"].errors == 1  # one record without a title
        assert report.published.published == 6 and report.published.error is None

        messages = consume(embedded_stack.kafka_bootstrap, topic, want=6)
        records = [ArticleRecord.from_bytes(m.value) for m in messages]
        assert len(records) == 6 and len({r.id for r in records}) == 6
        assert all(m.key == r.id.encode() for m, r in zip(messages, records, strict=True))
        by_title = {r.title: r for r in records}
        apple = by_title[APPLE[0]]
        assert apple.source_id == "wire" and apple.tickers == ["AAPL"] and apple.novelty == 1.0
        tesla, reworded = by_title[TESLA[0]], by_title[TESLA_REWORDED[0]]
        assert reworded.cluster_id == tesla.cluster_id == tesla.id and reworded.novelty == 0.5
        assert by_title["Boeing wins large jet order"].body.startswith("Boeing said an airline ordered")
        assert "track()" not in by_title["Boeing wins large jet order"].body
        assert news_server.hits_for("/private/2024/leak") == []
        assert {h.headers["user-agent"] for h in news_server.hits} == {"finsent-it/1.0"}
        assert _count(db_engine, Article.emitted_at.is_(None)) == 0

        again = crawler.crawl_once()
        by_id = {s.source_id: s for s in again.sources}
        assert by_id["wire"].not_modified == by_id["desk"].not_modified == by_id["api"].not_modified == 1
        assert sum(s.new for s in again.sources) == 0 and again.published.published == 0
        assert [h.status for h in news_server.hits_for("/rss")] == [200, 304]
        assert len(news_server.hits_for("/newsroom/2024/boeing")) == 1  # known page not fetched again
        assert len(consume(embedded_stack.kafka_bootstrap, topic, want=6)) == 6  # nothing new on the topic
    finally:
        crawler.close()
    with db_engine.connect() as conn:
        etags = dict(conn.execute(select(CrawlState.url, CrawlState.etag)).all())
    assert etags[f"{news_server.base}/rss"] == '"rss-v1"'


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_broker_that_is_down_loses_nothing(
    news_server: NewsServer,
    db_engine: Engine,
    settings_factory: Callable[..., Settings],
    topic_factory: Callable[..., str],
    consume: Callable[..., list[Any]],
    embedded_stack: Any,
) -> None:
    _serve_everything(news_server)
    settings = settings_factory(ingest={"allow_private_addresses": True})
    topic = topic_factory()
    crawler = _crawler(_sources(news_server), settings, db_engine, None, None)
    down = Producer(f"127.0.0.1:{_closed_port()}", guarantees=DeliveryGuarantees(connect_timeout_s=1.0))
    crawler.publisher = OutboxPublisher(db_engine, down, topic)
    try:
        report = crawler.crawl_once()
    finally:
        crawler.close()
    assert sum(s.new for s in report.sources) == 6
    assert report.published.published == 0 and "unreachable" in (report.published.error or "")
    assert _count(db_engine, Article.emitted_at.is_(None)) == 6

    back = OutboxPublisher(db_engine, Producer(embedded_stack.kafka_bootstrap), topic)
    try:
        assert back.publish_pending().published == 6
        assert back.pending() == 0
    finally:
        back.close()
    with db_engine.connect() as conn:
        ids = set(conn.execute(select(Article.id)).scalars())
    messages = consume(embedded_stack.kafka_bootstrap, topic, want=6)
    assert sorted(m.key.decode() for m in messages) == sorted(ids)


def test_a_slow_source_times_out_and_is_retried_later_while_others_continue(
    news_server: NewsServer, db_engine: Engine, settings_factory: Callable[..., Settings]
) -> None:
    b = news_server.base
    slow = news_server.route("/slow.xml", _rss(b, [(NVIDIA[0], "/n/1", NVIDIA[1])]), delay_s=2.0)
    news_server.route("/fast.xml", _rss(b, [(APPLE[0], "/n/2", APPLE[1])]))
    sources = parse_sources(
        {
            "defaults": {**DEFAULTS, "interval_s": 60},
            "sources": [
                {"id": "slow", "kind": "rss", "url": f"{b}/slow.xml", "timeout_s": 0.4},
                {"id": "fast", "kind": "rss", "url": f"{b}/fast.xml"},
            ],
        }
    )
    crawler = _crawler(
        sources, settings_factory(ingest={"allow_private_addresses": True}), db_engine, None, None
    )
    try:
        started = time.monotonic()
        first = {s.source_id: s for s in crawler.crawl_once().sources}
        assert time.monotonic() - started < 2.0  # the slow source did not hold up the pass
        assert first["slow"].errors == 1 and "timeout" in (first["slow"].last_error or "")
        assert first["fast"].new == 1
        slow_source, fast_source = crawler.sources
        assert not crawler.is_due(slow_source) and crawler.is_due(fast_source)  # backing off
        assert crawler.is_due(slow_source, now=time.monotonic() + 61)

        slow.delay_s = 0.0
        second = {s.source_id: s for s in crawler.crawl_once().sources}
        assert second["slow"].new == 1 and second["slow"].errors == 0
        assert crawler.is_due(slow_source)
    finally:
        crawler.close()


def test_hostile_responses_are_counted_and_dead_lettered(
    news_server: NewsServer, db_engine: Engine, settings_factory: Callable[..., Settings]
) -> None:
    b = news_server.base
    news_server.route(
        "/broken.xml", "<rss><channel><item><title>Unclosed &bogus; <b>", content_type="text/xml"
    )
    news_server.route("/binary.xml", bytes(range(256)) * 40, content_type="application/octet-stream")
    news_server.route("/huge", b"<p>" + b"x" * 10_500_000 + b"</p>")
    news_server.route("/script", "<html><body><script>" + "var a=1;" * 2000 + "</script></body></html>")
    news_server.route("/fine.xml", _rss(b, [(APPLE[0], "/n/1", "<script>evil()</script>Body")]))
    sources = parse_sources(
        {
            "defaults": DEFAULTS,
            "sources": [
                {"id": "broken", "kind": "rss", "url": f"{b}/broken.xml"},
                {"id": "binary", "kind": "rss", "url": f"{b}/binary.xml"},
                {"id": "pages", "kind": "html", "urls": [f"{b}/huge", f"{b}/script", f"{b}/missing"]},
                {"id": "fine", "kind": "rss", "url": f"{b}/fine.xml"},
            ],
        }
    )
    crawler = _crawler(
        sources, settings_factory(ingest={"allow_private_addresses": True}), db_engine, None, None
    )
    try:
        report = {s.source_id: s for s in crawler.crawl_once().sources}
    finally:
        crawler.close()
    assert report["fine"].new == 1
    assert report["broken"].errors >= 1 and report["binary"].errors == 1
    assert report["pages"].errors == 3 and report["pages"].new == 0
    with db_engine.connect() as conn:
        rows = conn.execute(
            select(DeadLetter.stage, DeadLetter.source, DeadLetter.error_type, DeadLetter.error)
        ).all()
    assert {r.stage for r in rows} == {"ingest"}
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(f"{row.error_type}: {row.error}")
    assert "binary" in by_source and "pages" in by_source
    assert any("BodyTooLargeError" in e for e in by_source["pages"])
    assert any("HTTP 404" in e for e in by_source["pages"])
    with db_engine.connect() as conn:
        body = conn.execute(select(Article.body)).scalar_one()
    assert body == "Body"


def test_a_restarted_crawler_does_not_store_or_publish_again(
    news_server: NewsServer, db_engine: Engine, settings_factory: Callable[..., Settings]
) -> None:
    news_server.route(
        "/plain.xml", _rss(news_server.base, [(APPLE[0], "/n/1", APPLE[1]), (TESLA[0], "/n/2", TESLA[1])])
    )
    sources = parse_sources(
        {
            "defaults": DEFAULTS,
            "sources": [{"id": "plain", "kind": "rss", "url": f"{news_server.base}/plain.xml"}],
        }
    )
    settings = settings_factory(ingest={"allow_private_addresses": True})
    for expected_new, expected_dupes in ((2, 0), (0, 2)):  # second round: a new process on the same database
        crawler = _crawler(sources, settings, db_engine, None, None)
        try:
            (summary,) = crawler.crawl_once().sources
        finally:
            crawler.close()
        assert (summary.new, summary.duplicates) == (expected_new, expected_dupes)
    assert _count(db_engine) == 2


def test_feed_entries_can_be_enriched_with_their_article_page(
    news_server: NewsServer, db_engine: Engine, settings_factory: Callable[..., Settings]
) -> None:
    b = news_server.base
    news_server.route("/short.xml", _rss(b, [(NVIDIA[0], "/story/nvidia", "Teaser only.")]))
    news_server.route(
        "/story/nvidia", _page(NVIDIA[0], "Nvidia said the accelerator doubles inference speed.")
    )
    sources = parse_sources(
        {
            "defaults": DEFAULTS,
            "sources": [{"id": "rich", "kind": "rss", "url": f"{b}/short.xml", "fetch_articles": True}],
        }
    )
    crawler = _crawler(
        sources, settings_factory(ingest={"allow_private_addresses": True}), db_engine, None, None
    )
    try:
        (summary,) = crawler.crawl_once().sources
        (again,) = crawler.crawl_once().sources
    finally:
        crawler.close()
    assert summary.new == 1 and again.duplicates == 1
    with db_engine.connect() as conn:
        body = conn.execute(select(Article.body)).scalar_one()
    assert body.startswith("Nvidia said the accelerator doubles inference speed.")
    assert len(news_server.hits_for("/story/nvidia")) == 1  # a stored article's page is not fetched again
