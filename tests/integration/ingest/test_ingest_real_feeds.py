"""Real-feed shapes that used to lose news silently, served by a local HTTP server and stored in
the real PostgreSQL: a shared link with distinct GUIDs, a feed far longer than the per-poll cap,
a news sitemap, FeedBurner's origLink, and mojibake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ingest_news_server import NewsServer, Route
from sqlalchemy import Engine, func, select

from finsent.core.settings import Settings
from finsent.ingest import build_crawler, parse_sources
from finsent.storage.schema import Article, CrawlState

pytestmark = pytest.mark.integration

DEFAULTS = {"per_host_interval_s": 0, "retries": 1, "backoff_max_s": 0.1, "max_workers": 1}


def _crawl_source(
    server: NewsServer, engine: Engine, settings: Settings, source: dict[str, Any], **defaults: Any
) -> Any:
    sources = parse_sources({"defaults": {**DEFAULTS, **defaults}, "sources": [source]})
    return build_crawler(sources, settings=settings, engine=engine, bootstrap=None, topic=None)


def _rows(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Article.title, Article.url).order_by(Article.title))]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Article)).scalar_one())


def _rss(items: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    )


@pytest.fixture
def local(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(ingest={"allow_private_addresses": True})


def test_items_sharing_one_link_are_all_stored(
    news_server: NewsServer, db_engine: Engine, local: Settings
) -> None:
    """30 items with distinct GUIDs and titles but one link (Seeking Alpha's market-currents feed)."""
    link = f"{news_server.base}/market-news"
    items = "".join(
        f"<item><title>Company {i} raises its dividend by {i}%</title><link>{link}</link>"
        f"<guid isPermaLink='false'>mc-{i}</guid></item>"
        for i in range(30)
    )
    news_server.routes["/feed"] = Route(_rss(items), "application/rss+xml")
    crawler = _crawl_source(
        news_server, db_engine, local, {"id": "sa", "kind": "rss", "url": f"{news_server.base}/feed"}
    )
    try:
        first = crawler.crawl_once(publish=False).sources[0]
        again = crawler.crawl_once(publish=False).sources[0]
    finally:
        crawler.close()
    assert (first.new, first.duplicates) == (30, 0)
    assert (again.new, again.duplicates) == (0, 30)  # re-polled items are still recognised
    assert _count(db_engine) == 30


def test_a_feed_longer_than_the_cap_is_ingested_over_polls(
    news_server: NewsServer, db_engine: Engine, local: Settings
) -> None:
    items = "".join(
        f"<item><title>Bulletin {i:03d}</title><link>{news_server.base}/b/{i}</link></item>"
        for i in range(120)
    )
    news_server.routes["/long"] = Route(_rss(items), "application/rss+xml", etag='"v1"')
    source = {"id": "long", "kind": "rss", "url": f"{news_server.base}/long"}
    crawler = _crawl_source(news_server, db_engine, local, source, max_items_per_poll=50)
    try:
        polls = [crawler.crawl_once(publish=False).sources[0] for _ in range(4)]
    finally:
        crawler.close()
    assert [(p.new, p.deferred) for p in polls] == [(50, 70), (50, 20), (20, 0), (0, 0)]
    # While items wait, the feed is fetched in full again (no conditional 304); then it is.
    assert [h.status for h in news_server.hits_for("/long")] == [200, 200, 200, 304]
    assert _count(db_engine) == 120


def test_fifty_thousand_items_are_counted_and_the_overflow_is_kept_for_later(
    news_server: NewsServer, db_engine: Engine, local: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """One poll of a 50,000-item feed (parsing it takes feedparser ~0.5 ms an entry, so one poll
    here; the 120-item test above shows the next polls taking the rest)."""
    items = "".join(f"<item><title>N{i}</title><guid>n{i}</guid></item>" for i in range(50_000))
    news_server.routes["/huge"] = Route(_rss(items), "application/rss+xml", etag='"big"')
    source = {"id": "huge", "kind": "rss", "url": f"{news_server.base}/huge"}
    settings = local.override(ingest={"max_body_bytes": 10_000_000})
    crawler = _crawl_source(news_server, db_engine, settings, source, max_items_per_poll=400)
    try:
        first = crawler.crawl_once(publish=False).sources[0]
    finally:
        crawler.close()
    assert (first.new, first.deferred) == (400, 49_600)
    assert "49600 new items over the per-poll cap of 400" in caplog.text
    with db_engine.connect() as conn:  # no validator kept: the next poll reads the feed in full
        assert conn.execute(select(CrawlState.etag).where(CrawlState.url.like("%/huge"))).first() is None
    assert _count(db_engine) == 400


NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{base}/news/articles/2024-05-01/apple-results</loc>
    <news:news><news:publication><news:name>Bloomberg</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-01T20:31:00Z</news:publication_date>
      <news:title>Apple Beats Estimates as Services Revenue Jumps</news:title>
      <news:stock_tickers>NASDAQ:AAPL</news:stock_tickers></news:news></url>
  <url><loc>{base}/news/articles/2024-05-01/oil</loc>
    <news:news><news:publication><news:name>Bloomberg</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-01T19:02:00Z</news:publication_date>
      <news:title>Oil Slides as Stockpiles Swell</news:title></news:news></url>
  <url><loc>{base}/news/articles/2024-05-01/untitled</loc></url>
</urlset>"""


@pytest.mark.parametrize("kind", ["sitemap", "feed"])
def test_news_sitemap_is_a_source(
    news_server: NewsServer, db_engine: Engine, local: Settings, kind: str
) -> None:
    body = NEWS_SITEMAP.format(base=news_server.base).encode()
    news_server.routes["/sitemap-news.xml"] = Route(body, "application/xml")
    source = {"id": "bbg", "kind": kind, "url": f"{news_server.base}/sitemap-news.xml"}
    crawler = _crawl_source(news_server, db_engine, local, source)
    try:
        summary = crawler.crawl_once(publish=False).sources[0]
    finally:
        crawler.close()
    assert (summary.new, summary.errors) == (2, 1)  # the entry without a title is dead-lettered
    with db_engine.connect() as conn:
        url, published_at, tickers = conn.execute(
            select(Article.url, Article.published_at, Article.tickers).where(Article.title.like("Apple%"))
        ).one()
    assert url == f"{news_server.base}/news/articles/2024-05-01/apple-results"
    assert published_at.isoformat() == "2024-05-01T20:31:00+00:00"
    assert "AAPL" in tickers


def test_feedburner_origlink_and_mojibake(
    news_server: NewsServer, db_engine: Engine, local: Settings
) -> None:
    items = (
        "<item><title>Fed holds rates steady</title>"
        "<link>http://feeds.feedburner.test/~r/reuters/x/~3/abc/</link>"
        f"<feedburner:origLink>{news_server.base}/article/fed-holds</feedburner:origLink></item>"
        "<item><title>Nestl\u00c3\u00a9 says it\u00e2\u20ac\u2122s raising prices</title>"
        f"<link>{news_server.base}/article/nestle</link></item>"
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel><title>r</title>'
        f"{items}</channel></rss>"
    ).encode()
    news_server.routes["/fb"] = Route(body, "application/rss+xml")
    crawler = _crawl_source(
        news_server, db_engine, local, {"id": "reuters", "kind": "rss", "url": f"{news_server.base}/fb"}
    )
    try:
        crawler.crawl_once(publish=False)
    finally:
        crawler.close()
    assert _rows(db_engine) == [
        ("Fed holds rates steady", f"{news_server.base}/article/fed-holds"),
        ("Nestl\u00e9 says it\u2019s raising prices", f"{news_server.base}/article/nestle"),
    ]
