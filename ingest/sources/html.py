"""Article pages: HTML fetched and reduced to text with trafilatura."""

from __future__ import annotations

import logging
import re
from configparser import ConfigParser
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from finsent.ingest.config import HtmlSourceConfig
from finsent.ingest.exceptions import BadItemError, BodyTooLargeError, FetchError
from finsent.ingest.items import BadItem, PollResult, RawItem
from finsent.ingest.sources.base import PollContext
from finsent.ingest.urls import canonical_url, resolve_url

__all__ = ["MAX_PAGE_BYTES", "ExtractedPage", "HtmlSource", "extract_article", "extract_links"]

log = logging.getLogger(__name__)

#: Article pages larger than this are not parsed (real ones are well under 1 MB of HTML).
MAX_PAGE_BYTES = 3_000_000
_MAX_TREE = "100000"  # elements; larger documents are refused (bounded work on hostile pages)
_DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


@dataclass(frozen=True)
class ExtractedPage:
    """The main text of an article page."""

    title: str
    text: str
    published: str | None


@lru_cache(maxsize=1)
def _config() -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", _MAX_TREE)
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
    return config


def extract_article(body: bytes, url: str, *, max_bytes: int = MAX_PAGE_BYTES) -> ExtractedPage:
    """Reduce an HTML page to its title, main text and date (scripts, menus, footers dropped).

    Args:
        body: The page as fetched.
        url: Its URL (for relative links and messages).
        max_bytes: Larger pages are refused before parsing (parsing costs seconds per MB).

    Raises:
        BodyTooLargeError: the page is larger than ``max_bytes``.
        BadItemError: the page has no extractable article text.
    """
    import trafilatura  # heavy import; only crawlers of article pages need it

    if len(body) > max_bytes:
        raise BodyTooLargeError(
            f"{url}: page of {len(body)} bytes exceeds the {max_bytes}-byte extraction limit"
        )
    if not body.strip():
        raise BadItemError(f"{url}: empty page")
    try:
        doc = trafilatura.bare_extraction(
            body, url=url, with_metadata=True, date_extraction_params=_DATE_PARAMS, config=_config()
        )
    except Exception as exc:  # trafilatura/lxml on hostile markup can fail anywhere; dead-letter it
        raise BadItemError(f"{url}: HTML extraction failed: {type(exc).__name__}: {exc}") from None
    text = getattr(doc, "text", None) or ""
    title = getattr(doc, "title", None) or ""
    if not text.strip():
        raise BadItemError(f"{url}: no article text found")
    if title and text.startswith(title):
        text = text[len(title) :].lstrip()
    return ExtractedPage(title=title, text=text, published=getattr(doc, "date", None))


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def extract_links(body: bytes, base_url: str, pattern: str | None = None, limit: int = 1000) -> list[str]:
    """Absolute http(s) links of an HTML page (relative ones resolved), in page order, unique.

    Args:
        body: The page.
        base_url: URL of the page.
        pattern: Only links whose absolute URL matches this regex (search).
        limit: Most links returned.
    """
    collector = _LinkCollector()
    try:
        collector.feed(body.decode("utf-8", errors="replace"))
        collector.close()
    except (AssertionError, ValueError):
        pass
    regex = re.compile(pattern) if pattern else None
    seen: set[str] = set()
    out: list[str] = []
    for href in collector.links:
        url = resolve_url(href, base_url)
        canonical = canonical_url(url) if url else None
        if url is None or canonical is None or canonical in seen:
            continue
        if regex is not None and not regex.search(url):
            continue
        seen.add(canonical)
        out.append(url)
        if len(out) >= limit:
            break
    return out


class HtmlSource:
    """Article pages: fixed URLs plus links discovered on an index page."""

    kind = "html"

    def __init__(self, config: HtmlSourceConfig, interval_s: float) -> None:
        self.config = config
        self.id = config.id
        self.interval_s = interval_s

    def poll(self, ctx: PollContext) -> PollResult:
        """Fetch the index page (if any) and every article page not stored yet."""
        result = PollResult()
        pages = list(self.config.urls)
        if self.config.index_url:
            index = ctx.fetch(
                self.config.index_url, source_id=self.id, conditional=False, timeout_s=self.config.timeout_s
            )
            result.requests += 1
            pages += extract_links(index.body, index.url, self.config.link_pattern)
        for url in pages[: self.config.max_pages]:
            canonical = canonical_url(url)
            if canonical is None or ctx.is_known(canonical):
                continue
            self._fetch_page(url, ctx, result)
        return result

    def _fetch_page(self, url: str, ctx: PollContext, result: PollResult) -> None:
        try:
            page = ctx.fetch(url, source_id=self.id, timeout_s=self.config.timeout_s)
            result.requests += 1
            if page.not_modified:
                result.not_modified += 1
                return
            extracted = extract_article(page.body, page.url)
        except BadItemError as exc:
            result.bad.append(BadItem(self.id, str(exc), type(exc).__name__, key=url))
            return
        except FetchError as exc:
            # One slow page must not lose the others; it is fetched again next poll.
            result.errors.append(str(exc))
            return
        result.items.append(
            RawItem(
                source_id=self.id,
                title=extracted.title,
                body=extracted.text,
                url=page.url,
                published=extracted.published,
                tickers=tuple(self.config.tickers),
                base_url=page.url,
                fetched_at=ctx.now,
            )
        )
