"""The ``articles`` table as de-duplicating store and Kafka outbox, and the dead-letter sink.

Exact duplicates (same id = same canonical URL, or same content hash) are dropped inside one
transaction that holds a PostgreSQL advisory lock per content hash, so concurrent crawlers and
restarts never store -- and therefore never publish -- a story twice. Near duplicates join the
story cluster found by :class:`~ingest.stories.StoryIndex` (rebuilt from the table at start).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from finsent.ingest.items import Article, BadItem
from finsent.ingest.normalize import story_text
from finsent.ingest.simhash import content_words, to_signed, to_unsigned
from finsent.ingest.stories import StoryIndex, novelty_for
from finsent.storage.articles_repo import ArticleBatch, ArticleRepository
from finsent.storage.dead_letters_repo import DeadLetterRepository

__all__ = [
    "AddResult",
    "ArticleSink",
    "ArticleStore",
    "DeadLetterSink",
    "MemoryArticleStore",
    "MemoryDeadLetters",
    "SqlDeadLetters",
    "article_row",
]

log = logging.getLogger(__name__)


@dataclass
class AddResult:
    """Outcome of storing a batch: ids of new articles and how many were duplicates."""

    new: list[Article] = field(default_factory=list)
    duplicates: int = 0


def article_row(article: Article) -> dict[str, Any]:
    """The ``articles`` row of a normalised article (``emitted_at`` NULL: not yet published)."""
    return {
        "id": article.id,
        "source_id": article.source_id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "body": article.body,
        "published_at": article.published_at,
        "published_at_estimated": article.published_at_estimated,
        "fetched_at": article.fetched_at,
        "language": article.language,
        "tickers": article.tickers,
        "entities": [e.model_dump() for e in article.entities],
        "content_hash": article.content_hash,
        "simhash": to_signed(article.simhash),
        "cluster_id": article.cluster_id,
        "novelty": article.novelty,
    }


class ArticleStore:
    """De-duplicates, clusters and stores articles (the outbox the publisher drains).

    Args:
        engine: Engine on the finsent database.
        stories: Near-duplicate index (default: SimHash + Jaccard, 48 h window).
        novelty_decay: Novelty of the n-th later report is ``decay ** n``.
    """

    def __init__(self, engine: Engine, stories: StoryIndex | None = None, novelty_decay: float = 0.5) -> None:
        self.engine = engine
        self.stories = stories or StoryIndex()
        self.novelty_decay = novelty_decay
        self._articles = ArticleRepository(engine)
        self._lock = threading.Lock()
        self._loaded = False

    def _load_recent_locked(self, now: datetime) -> int:
        """Rebuild the story index from articles fetched within its window; returns how many."""
        count = 0
        rows = self._articles.recent_stories(since=now - self.stories.window)
        for title, body, tickers, fingerprint, cluster, article_id, fetched_at in rows:
            if fingerprint is None:  # excluded by the query; keeps the type checker honest
                continue
            words = content_words(story_text(title, body or ""))
            self.stories.add(
                to_unsigned(fingerprint),
                words,
                cluster or article_id,
                fetched_at,
                frozenset(tickers or ()),
            )
            count += 1
        self._loaded = True
        return count

    def is_known_url(self, canonical: str) -> bool:
        """True when an article with this canonical URL is stored (its page need not be fetched)."""
        return self._articles.has_canonical_url(canonical)

    def known_ids(self, ids: Collection[str]) -> set[str]:
        """The ids among ``ids`` already stored."""
        return self._articles.existing_ids(ids)

    def add(self, articles: list[Article]) -> AddResult:
        """Store the articles that are new; assign story clusters and novelty to them.

        Raises:
            StorageUnavailableError: the database is unreachable (nothing was stored).
        """
        result = AddResult()
        if not articles:
            return result
        with self._lock:
            if not self._loaded:
                self._load_recent_locked(datetime.now(UTC))
            return self._add_locked(articles, result)

    def _add_locked(self, articles: list[Article], result: AddResult) -> AddResult:
        with self._articles.new_batch(hashes={a.content_hash for a in articles}) as batch:
            fresh = self._fresh(batch, articles, result)
            pending = self._cluster(fresh)
            inserted = batch.insert([article_row(a) for a in fresh])
            result.duplicates += len(fresh) - len(inserted)
            result.new = [a for a in fresh if a.id in inserted]
        for article, words in pending:  # after commit: the index only learns stored articles
            if article.id in inserted:
                self.stories.add(
                    article.simhash,
                    words,
                    article.cluster_id or article.id,
                    article.fetched_at,
                    frozenset(article.tickers),
                )
        return result

    @staticmethod
    def _fresh(batch: ArticleBatch, articles: list[Article], result: AddResult) -> list[Article]:
        """The articles neither stored nor repeated earlier in the batch (duplicates counted)."""
        seen_ids, seen_hashes = batch.known(
            ids=[a.id for a in articles], hashes=[a.content_hash for a in articles]
        )
        fresh: list[Article] = []
        for article in articles:
            if article.id in seen_ids or article.content_hash in seen_hashes:
                result.duplicates += 1
                continue
            seen_ids.add(article.id)
            seen_hashes.add(article.content_hash)
            fresh.append(article)
        return fresh

    def _cluster(self, fresh: list[Article]) -> list[tuple[Article, frozenset[str]]]:
        # Articles of one batch can be near duplicates of each other: a scratch index holds
        # the batch so far.
        pending: list[tuple[Article, frozenset[str]]] = []
        batch_reports: dict[str, int] = {}
        scratch = StoryIndex(self.stories.max_distance, self.stories.min_jaccard, self.stories.window)
        for article in fresh:
            words = content_words(story_text(article.title, article.body))
            tickers = frozenset(article.tickers)
            match = self.stories.match(article.simhash, words, tickers, now=article.fetched_at)
            if match is None:
                match = scratch.match(article.simhash, words, tickers)
            cluster = match.cluster_id if match is not None else article.id
            prior = self.stories.reports(cluster) + batch_reports.get(cluster, 0)
            article.cluster_id = cluster
            article.novelty = novelty_for(prior, self.novelty_decay)
            batch_reports[cluster] = batch_reports.get(cluster, 0) + 1
            scratch.add(article.simhash, words, cluster, article.fetched_at, tickers)
            pending.append((article, words))
        return pending


class ArticleSink(Protocol):
    """Where the crawler stores articles (PostgreSQL outbox, or memory for dry runs)."""

    def add(self, articles: list[Article]) -> AddResult:
        """Store the new articles; report duplicates."""
        ...

    def is_known_url(self, canonical: str) -> bool:
        """True when an article with this canonical URL is stored."""
        ...

    def known_ids(self, ids: Collection[str]) -> set[str]:
        """The ids among ``ids`` already stored."""
        ...


class MemoryArticleStore:
    """The same de-duplication and clustering in memory (dry runs, unit tests)."""

    def __init__(self, stories: StoryIndex | None = None, novelty_decay: float = 0.5) -> None:
        self.stories = stories or StoryIndex()
        self.novelty_decay = novelty_decay
        self.articles: dict[str, Article] = {}
        self._hashes: set[str] = set()
        self._lock = threading.Lock()

    def is_known_url(self, canonical: str) -> bool:
        """True when an article with this canonical URL is stored."""
        return any(a.canonical_url == canonical for a in self.articles.values())

    def known_ids(self, ids: Collection[str]) -> set[str]:
        """The ids among ``ids`` already stored."""
        return {i for i in ids if i in self.articles}

    def add(self, articles: list[Article]) -> AddResult:
        """Keep the new articles."""
        result = AddResult()
        with self._lock:
            for article in articles:
                if article.id in self.articles or article.content_hash in self._hashes:
                    result.duplicates += 1
                    continue
                words = content_words(story_text(article.title, article.body))
                tickers = frozenset(article.tickers)
                match = self.stories.match(article.simhash, words, tickers, now=article.fetched_at)
                article.cluster_id = match.cluster_id if match else article.id
                article.novelty = novelty_for(match.prior_reports if match else 0, self.novelty_decay)
                self.stories.add(article.simhash, words, article.cluster_id, article.fetched_at, tickers)
                self.articles[article.id] = article
                self._hashes.add(article.content_hash)
                result.new.append(article)
        return result


class DeadLetterSink(Protocol):
    """Where bad items go (besides the log)."""

    def record(self, items: list[BadItem]) -> None:
        """Keep bad items with their reasons."""
        ...


class MemoryDeadLetters:
    """Keeps bad items in a list (runs without a database, tests)."""

    def __init__(self) -> None:
        self.items: list[BadItem] = []
        self._lock = threading.Lock()

    def record(self, items: list[BadItem]) -> None:
        """Append the items."""
        with self._lock:
            self.items.extend(items)


class SqlDeadLetters:
    """Writes bad items to the ``dead_letters`` table (stage ``ingest``)."""

    def __init__(self, engine: Engine, max_payload_bytes: int = 65_536) -> None:
        self.engine = engine
        self.max_payload_bytes = max_payload_bytes
        self._letters = DeadLetterRepository(engine, stage="ingest")

    def record(self, items: list[BadItem]) -> None:
        """Insert one row per item."""
        self._letters.record(
            [
                {
                    "error_type": item.error_type,
                    "error": item.reason,
                    "source": item.source_id,
                    "key": item.key,
                    "payload": item.payload[: self.max_payload_bytes] if item.payload else None,
                }
                for item in items
            ]
        )
