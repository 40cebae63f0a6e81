"""The ``articles`` table as the crawlers see it: a de-duplicating store and a Kafka outbox.

* :meth:`ArticleRepository.new_batch` -- one transaction that holds a PostgreSQL advisory lock
  per content hash, so concurrent crawlers never store the same story twice: look up what is
  known, then insert what is not (:class:`ArticleBatch`).
* :meth:`ArticleRepository.unpublished` -- claim stored, not yet emitted rows
  (``FOR UPDATE SKIP LOCKED``, so several publishers can drain at once) and mark the ones the
  broker acknowledged (:class:`OutboxBatch`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from finsent.storage.repository import upsert_articles
from finsent.storage.schema import Article

__all__ = ["ArticleBatch", "ArticleRepository", "OutboxBatch"]

_LOCK_HASHES = text(
    "SELECT pg_advisory_xact_lock(k) FROM "
    "(SELECT DISTINCT hashtextextended(h, 0) AS k FROM unnest(:hashes) AS h ORDER BY k) AS locks"
).bindparams(bindparam("hashes", type_=ARRAY(String)))

#: Columns of :meth:`ArticleRepository.recent_stories` rows.
STORY_COLUMNS = ("title", "body", "tickers", "simhash", "cluster_id", "id", "fetched_at")


class ArticleBatch:
    """One de-duplicating write (from :meth:`ArticleRepository.new_batch`); hashes are locked."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def known(self, *, ids: Collection[str], hashes: Collection[str]) -> tuple[set[str], set[str]]:
        """The stored ids and content hashes among ``ids`` / ``hashes``."""
        seen_ids: set[str] = set()
        seen_hashes: set[str] = set()
        query = select(Article.id, Article.content_hash).where(
            Article.id.in_(list(ids)) | Article.content_hash.in_(list(hashes))
        )
        for row_id, row_hash in self._conn.execute(query):
            seen_ids.add(row_id)
            seen_hashes.add(row_hash)
        return seen_ids, seen_hashes

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Insert article rows (existing ids are skipped); the ids inserted."""
        return set(upsert_articles(self._conn, rows))


class OutboxBatch:
    """Claimed, not yet emitted articles (from :meth:`ArticleRepository.unpublished`)."""

    def __init__(self, conn: Connection, rows: list[Any]) -> None:
        self._conn = conn
        #: The claimed ``articles`` rows (attribute access: ``row.id``, ``row.title`` ...).
        self.rows = rows

    def mark_emitted(self, ids: Sequence[str], *, at: datetime) -> None:
        """Record that the broker acknowledged these articles at ``at``."""
        if ids:
            stmt = update(Article).where(Article.id.in_(list(ids))).values(emitted_at=at)
            self._conn.execute(stmt)


class ArticleRepository:
    """Stored articles for the ingest stage.

    Args:
        engine: Engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def recent_stories(self, *, since: datetime) -> list[tuple[Any, ...]]:
        """Articles fetched since ``since`` that carry a SimHash, oldest first.

        Returns:
            Tuples of :data:`STORY_COLUMNS` (what the story index is rebuilt from).
        """
        query = (
            select(*(getattr(Article, c) for c in STORY_COLUMNS))
            .where(Article.fetched_at >= since, Article.simhash.is_not(None))
            .order_by(Article.fetched_at)
        )
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def has_canonical_url(self, canonical: str) -> bool:
        """True when an article with this canonical URL is stored."""
        with self.engine.connect() as conn:
            query = select(Article.id).where(Article.canonical_url == canonical).limit(1)
            return conn.execute(query).first() is not None

    def existing_ids(self, ids: Collection[str]) -> set[str]:
        """The ids among ``ids`` that are stored."""
        wanted = list(ids)
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 5000):
                chunk = wanted[start : start + 5000]
                found.update(conn.execute(select(Article.id).where(Article.id.in_(chunk))).scalars())
        return found

    def exists(self, article_id: str) -> bool:
        """True when an article with this id is stored."""
        with self.engine.connect() as conn:
            return conn.execute(select(Article.id).where(Article.id == article_id)).first() is not None

    @contextlib.contextmanager
    def new_batch(self, *, hashes: Collection[str]) -> Iterator[ArticleBatch]:
        """A transaction holding the advisory locks of ``hashes`` (commit on success)."""
        with self.engine.begin() as conn:
            conn.execute(_LOCK_HASHES, {"hashes": sorted(set(hashes))})
            yield ArticleBatch(conn)

    def pending_count(self) -> int:
        """Number of stored articles not yet acknowledged by the broker."""
        query = select(func.count()).select_from(Article).where(Article.emitted_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    @contextlib.contextmanager
    def unpublished(self, *, limit: int) -> Iterator[OutboxBatch]:
        """Claim up to ``limit`` unpublished articles, oldest fetched first, for one transaction."""
        query = (
            select(Article)
            .where(Article.emitted_at.is_(None))
            .order_by(Article.fetched_at, Article.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as conn:
            yield OutboxBatch(conn, list(conn.execute(query).all()))
