"""News sitemaps (Google News ``<urlset>`` with ``news:`` elements), as published by Bloomberg,
Reuters and most large outlets next to or instead of RSS.

Each ``<url>`` becomes one item: ``loc`` the link, ``news:title`` the headline,
``news:publication_date`` (else ``lastmod``) the time, ``news:stock_tickers`` declared tickers.
Parsed with lxml without entity expansion, DTDs or network access, so entity bombs and XXE stay
inert like they do for feeds.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from finsent.ingest.items import BadItem, PollResult, RawItem
from finsent.ingest.urls import resolve_url

__all__ = ["is_sitemap", "parse_news_sitemap"]

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "recover": False,
}


def _root(body: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(bytes(body), parser=etree.XMLParser(**_PARSER_OPTIONS))
    except (etree.XMLSyntaxError, ValueError):
        return None


def is_sitemap(body: bytes) -> bool:
    """True when the document is a sitemap ``<urlset>`` (checked on the first bytes only)."""
    head = bytes(body[:2048]).lower()
    return b"<urlset" in head and b"sitemap" in head


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path, namespaces={"s": _SITEMAP_NS, "n": _NEWS_NS})
    return (found.text or "").strip() if found is not None and found.text else ""


def _tickers(declared: str) -> tuple[str, ...]:
    # "NASDAQ:AAPL, NYSE:IBM" -> ("AAPL", "IBM"); the exchange prefix is optional.
    out = []
    for part in declared.split(","):
        symbol = part.strip().rsplit(":", 1)[-1].strip().upper()
        if symbol and len(symbol) <= 12:
            out.append(symbol)
    return tuple(dict.fromkeys(out))


def parse_news_sitemap(
    body: bytes,
    *,
    source_id: str,
    base_url: str,
    fetched_at: datetime,
    tickers: tuple[str, ...] = (),
) -> PollResult:
    """Parse a news sitemap into raw items; never raises on bad input."""
    result = PollResult()
    root = _root(body)
    if root is None or etree.QName(root).localname != "urlset":
        result.bad.append(
            BadItem(source_id, "not a readable sitemap", "BadItemError", base_url, body[:65536])
        )
        return result
    for url in root.iterfind("s:url", namespaces={"s": _SITEMAP_NS}):
        loc = _text(url, "s:loc")
        title = _text(url, "n:news/n:title")
        if not loc:
            result.bad.append(BadItem(source_id, "sitemap entry has no <loc>", "BadItemError", title or None))
            continue
        if not title:
            result.bad.append(BadItem(source_id, "sitemap entry has no <news:title>", "BadItemError", loc))
            continue
        declared = _tickers(_text(url, "n:news/n:stock_tickers"))
        result.items.append(
            RawItem(
                source_id=source_id,
                title=title,
                url=resolve_url(loc, base_url),
                published=_text(url, "n:news/n:publication_date") or _text(url, "s:lastmod") or None,
                item_id=loc,
                tickers=tuple(dict.fromkeys((*tickers, *declared))),
                base_url=base_url,
                fetched_at=fetched_at,
            )
        )
    return result
