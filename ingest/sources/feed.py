"""RSS and Atom feeds (feedparser) and news sitemaps, optionally with each entry's page reduced
to text."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import feedparser

from finsent.ingest.config import FeedSourceConfig
from finsent.ingest.exceptions import BadItemError, FetchError
from finsent.ingest.items import BadItem, PollResult, RawItem
from finsent.ingest.sources.base import PollContext
from finsent.ingest.sources.html import extract_article
from finsent.ingest.sources.sitemap import is_sitemap, parse_news_sitemap
from finsent.ingest.urls import canonical_url, resolve_url

__all__ = ["FeedSource", "parse_feed"]

log = logging.getLogger(__name__)


def _entry_text(entry: Any) -> str:
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        value = content[0].get("value")
        if isinstance(value, str) and value.strip():
            return value
    summary = entry.get("summary")
    return summary if isinstance(summary, str) else ""


def _entry_link(entry: Any) -> str | None:
    # FeedBurner rewrites links to its redirector and keeps the publisher's in origLink.
    for key in ("feedburner_origlink", "origlink", "link"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _bad(source_id: str, reason: str, key: str | None = None, payload: bytes | None = None) -> BadItem:
    return BadItem(source_id, reason, "BadItemError", key=key, payload=payload)


def parse_feed(
    body: bytes,
    *,
    source_id: str,
    base_url: str,
    fetched_at: datetime,
    tickers: tuple[str, ...] = (),
) -> PollResult:
    """Parse an RSS/Atom document (or a news sitemap) into raw items; never raises on bad input.

    A document with no readable entries is one bad item (reason: the parser's complaint);
    each unusable entry is another.
    """
    if is_sitemap(body):
        return parse_news_sitemap(
            body, source_id=source_id, base_url=base_url, fetched_at=fetched_at, tickers=tickers
        )
    result = PollResult()
    try:
        parsed = feedparser.parse(
            bytes(body), response_headers={"content-location": base_url}, sanitize_html=True
        )
    except Exception as exc:  # feedparser on hostile bytes can fail anywhere; dead-letter, never crash
        result.bad.append(_bad(source_id, f"feed parser failed: {type(exc).__name__}: {exc}", base_url, body))
        return result
    entries = parsed.get("entries") or []
    if not entries:
        problem = parsed.get("bozo_exception")
        reason = f"not a readable feed: {problem}" if problem else "feed has no entries"
        if problem or not parsed.get("feed"):
            result.bad.append(_bad(source_id, reason, base_url, body[:65536]))
        return result
    for entry in entries:
        title = entry.get("title") if isinstance(entry.get("title"), str) else ""
        text = _entry_text(entry)
        link = _entry_link(entry)
        if not (title or "").strip() and not text.strip():
            result.bad.append(_bad(source_id, "entry has no title and no text", link or entry.get("id")))
            continue
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        result.items.append(
            RawItem(
                source_id=source_id,
                title=title or "",
                body=text,
                url=resolve_url(link, base_url),
                published=published or entry.get("published") or entry.get("updated"),
                item_id=entry.get("id") if isinstance(entry.get("id"), str) else None,
                tickers=tickers,
                base_url=base_url,
                fetched_at=fetched_at,
            )
        )
    return result


class FeedSource:
    """An RSS/Atom feed polled with conditional GET (an unchanged feed costs one 304)."""

    kind = "feed"

    def __init__(self, config: FeedSourceConfig, interval_s: float) -> None:
        self.config = config
        self.id = config.id
        self.interval_s = interval_s

    def poll(self, ctx: PollContext) -> PollResult:
        """Fetch the feed; with ``fetch_articles`` also each new entry's page."""
        response = ctx.fetch(self.config.url, source_id=self.id, timeout_s=self.config.timeout_s)
        if response.not_modified:
            return PollResult(requests=1, not_modified=1)
        result = parse_feed(
            response.body,
            source_id=self.id,
            base_url=response.url,
            fetched_at=ctx.now,
            tickers=tuple(self.config.tickers),
        )
        result.requests += 1
        # Before fetching pages: only new items, at most max_items; the rest next time.
        result.items, result.deferred = ctx.select_new(result.items, ctx.max_items)
        if self.config.fetch_articles:
            result.items = [self._with_page(item, ctx, result) for item in result.items]
        return result

    def _with_page(self, item: RawItem, ctx: PollContext, result: PollResult) -> RawItem:
        canonical = canonical_url(item.url) if item.url else None
        if canonical is None or ctx.is_known(canonical):
            return item
        try:
            page = ctx.fetch(item.url or canonical, source_id=self.id, timeout_s=self.config.timeout_s)
            result.requests += 1
            if page.not_modified:
                return item
            extracted = extract_article(page.body, page.url)
        except (BadItemError, FetchError) as exc:
            # The feed entry is still usable without its page.
            log.info("source %s: page %s not used: %s", self.id, item.url, exc)
            return item
        return RawItem(
            source_id=item.source_id,
            title=item.title or extracted.title,
            body=extracted.text or item.body,
            url=item.url,
            published=item.published or extracted.published,
            item_id=item.item_id,
            tickers=item.tickers,
            base_url=item.base_url,
            fetched_at=item.fetched_at,
        )
