"""Normalisation: a source's raw item -> a clean :class:`~ingest.items.Article` (no I/O)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from finsent.ingest.entities import EntityTagger
from finsent.ingest.exceptions import BadItemError
from finsent.ingest.items import Article, RawItem
from finsent.ingest.simhash import simhash
from finsent.ingest.text import MAX_TITLE_CHARS, clean_text, detect_language, has_lost_characters, lead
from finsent.ingest.times import published_or_estimated
from finsent.ingest.urls import canonical_url, resolve_url

__all__ = ["Normalizer", "article_id", "content_hash", "story_text"]

_ID_CHARS = 32

log = logging.getLogger(__name__)


def article_id(source_id: str, canonical: str | None, item_id: str | None, title: str, digest: str) -> str:
    """Stable article id. Never the link alone: feeds give distinct items one shared link.

    The canonical URL with the headline, else the source's own item id (GUID) with the headline,
    else the content hash. The same item polled again keeps its id, and so does one story in two
    feeds of one outlet; distinct items that share a link (or a GUID) but not a headline stay
    distinct; a story republished elsewhere is caught by the content hash and near-duplicate
    clustering, not by its id.
    """
    headline = title.casefold()
    if canonical:
        key = f"url\0{canonical}\0{headline}"
    elif item_id:
        key = f"item\0{source_id}\0{item_id}\0{headline}"
    else:
        return digest[:_ID_CHARS]
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()[:_ID_CHARS]


def content_hash(title: str, body: str) -> str:
    """SHA-256 of the case-folded title and body: equal for the same text from any outlet."""
    text = f"{title.casefold()}\n{body.casefold()}"
    return hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()


def story_text(title: str, body: str) -> str:
    """The text whose fingerprint identifies a story: the headline and the lead."""
    return f"{title} {lead(body)}"


class Normalizer:
    """Turns raw items into articles: clean text, canonical URL, UTC time, language, entities.

    Args:
        tagger: Entity tagger (default: bundled ticker table).
        detect_languages: Run language detection (about 2 ms per article); False marks
            every article's language ``"unknown"`` unless the item says otherwise.
    """

    def __init__(self, tagger: EntityTagger | None = None, *, detect_languages: bool = True) -> None:
        self.tagger = tagger or EntityTagger()
        self.detect_languages = detect_languages

    def identity(self, raw: RawItem) -> str:
        """The id :meth:`normalize` gives this item, without its costly steps (language, entities).

        Raises:
            BadItemError: the item has neither a title nor a body.
        """
        title, body, _, canonical, item_id = self._keys(raw)
        return article_id(raw.source_id, canonical, item_id, title, content_hash(title, body))

    @staticmethod
    def _keys(raw: RawItem) -> tuple[str, str, str | None, str | None, str | None]:
        title = clean_text(raw.title, limit=MAX_TITLE_CHARS)
        body = clean_text(raw.body)
        if not title:
            title = clean_text(lead(body, 200), limit=MAX_TITLE_CHARS)
        if not title:
            raise BadItemError("item has neither a title nor a body")
        url = resolve_url(raw.url, raw.base_url) if isinstance(raw.url, str) else None
        canonical = canonical_url(url) if url else None
        item_id = clean_text(raw.item_id, limit=512) if raw.item_id is not None else None
        return title, body, url, canonical, item_id

    def normalize(self, raw: RawItem, *, now: datetime | None = None) -> Article:
        """Normalise one item.

        Raises:
            BadItemError: the item has neither a title nor a body.
        """
        fetched_at = (raw.fetched_at or now or datetime.now(UTC)).astimezone(UTC)
        title, body, url, canonical, item_id = self._keys(raw)
        if has_lost_characters(title) or has_lost_characters(body):
            # Mojibake ftfy could not undo: the bytes were lost upstream. Kept, and said.
            where = url or item_id
            log.warning("source %s: %s has lost characters (U+FFFD): %.80s", raw.source_id, where, title)
        digest = content_hash(title, body)
        published_at, estimated = published_or_estimated(raw.published, fetched_at)
        text = story_text(title, body)
        return Article(
            id=article_id(raw.source_id, canonical, item_id, title, digest),
            source_id=raw.source_id,
            url=url,
            canonical_url=canonical,
            title=title,
            body=body,
            published_at=published_at,
            published_at_estimated=estimated,
            fetched_at=fetched_at,
            language=detect_language(text) if self.detect_languages else "unknown",
            content_hash=digest,
            simhash=simhash(text),
            entities=self.tagger.tag(title, body, raw.tickers),
        )
