"""The data a crawl passes along: raw items from sources, normalised articles, bad items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from finsent.core.records import ArticleRecord, EntityMention

__all__ = ["Article", "BadItem", "PollResult", "RawItem"]


@dataclass(frozen=True)
class RawItem:
    """One news item as a source delivers it, before normalisation.

    Attributes:
        source_id: Id of the source that produced the item.
        title: Headline (may contain HTML and entities).
        body: Summary or text (may contain HTML).
        url: Link to the article, possibly relative to ``base_url``.
        published: Publication time as the source gives it (string, number, datetime or None).
        item_id: The source's own id (RSS guid, API id), used when there is no URL.
        tickers: Tickers the source declares for the item (API fields, source defaults).
        base_url: URL the item was fetched from, to resolve relative links.
        fetched_at: When the item was fetched (UTC).
    """

    source_id: str
    title: str
    body: str = ""
    url: str | None = None
    published: Any = None
    item_id: str | None = None
    tickers: tuple[str, ...] = ()
    base_url: str | None = None
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class BadItem:
    """An item (or a whole response) that could not be processed, with the reason."""

    source_id: str
    reason: str
    error_type: str
    key: str | None = None
    payload: bytes | None = None


@dataclass
class Article:
    """A normalised article, ready for de-duplication, storage and publishing."""

    id: str
    source_id: str
    url: str | None
    canonical_url: str | None
    title: str
    body: str
    published_at: datetime
    published_at_estimated: bool
    fetched_at: datetime
    language: str
    content_hash: str
    simhash: int
    entities: list[EntityMention] = field(default_factory=list)
    cluster_id: str | None = None
    novelty: float = 1.0

    @property
    def tickers(self) -> list[str]:
        """Tickers of the entities, most relevant first."""
        return [e.ticker for e in self.entities]

    def to_record(self, emitted_at: datetime) -> ArticleRecord:
        """The Kafka record of this article (schema ``article`` v1)."""
        return ArticleRecord(
            id=self.id,
            source_id=self.source_id,
            url=self.url,
            title=self.title,
            body=self.body,
            published_at=self.published_at,
            published_at_estimated=self.published_at_estimated,
            fetched_at=self.fetched_at,
            language=self.language,
            tickers=self.tickers,
            entities=list(self.entities),
            content_hash=self.content_hash,
            cluster_id=self.cluster_id,
            novelty=self.novelty,
            emitted_at=emitted_at,
        )


@dataclass
class PollResult:
    """What one poll of one source returned.

    ``bad`` items are dead-lettered; ``errors`` are transient failures (timeouts of single
    pages) that are only counted and logged, since the next poll tries again.
    """

    items: list[RawItem] = field(default_factory=list)
    bad: list[BadItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    not_modified: int = 0
    #: New items over the per-poll cap, left for the next polls (the response is fetched again).
    deferred: int = 0
