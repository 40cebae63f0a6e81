"""Publishing stored articles to Kafka: the outbox drain.

The outbox: articles are stored first (``emitted_at`` NULL), then published keyed by article id
through :class:`finsent.stream.kafka.Producer` (``acks=all``, idempotent); ``emitted_at`` is set
only for messages the broker acknowledged. A broker that is down loses nothing -- rows stay
pending and go out on the next drain.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from finsent.core.records import ArticleRecord, EntityMention
from finsent.storage.articles_repo import ArticleRepository
from finsent.stream.kafka import KafkaUnavailableError, Producer

__all__ = ["CLIENT_ID", "OutboxPublisher", "PublishStats", "record_from_row"]

log = logging.getLogger(__name__)

#: Kafka client id of the ingest stage's producers.
CLIENT_ID = "finsent-ingest"


@dataclass
class PublishStats:
    """Outcome of one outbox drain."""

    published: int = 0
    failed: int = 0
    error: str | None = None


def record_from_row(row: Any, emitted_at: datetime) -> ArticleRecord:
    """The Kafka record of a stored article."""
    return ArticleRecord(
        id=row.id,
        source_id=row.source_id or "unknown",
        url=row.url,
        title=row.title,
        body=row.body or "",
        published_at=row.published_at,
        published_at_estimated=bool(row.published_at_estimated),
        fetched_at=row.fetched_at,
        language=row.language or "unknown",
        tickers=list(row.tickers or []),
        entities=[EntityMention.model_validate(e) for e in (row.entities or [])],
        content_hash=row.content_hash,
        cluster_id=row.cluster_id,
        novelty=min(1.0, max(0.0, float(row.novelty if row.novelty is not None else 1.0))),
        emitted_at=emitted_at,
    )


class OutboxPublisher:
    """Publishes stored, not yet emitted articles and marks the acknowledged ones.

    Several publishers (threads or processes) may drain at once: rows are claimed with
    ``FOR UPDATE SKIP LOCKED``.

    Args:
        engine: Engine on the finsent database.
        sender: Kafka producer (or a bootstrap string to make one).
        topic: The raw-articles topic.
        batch_size: Rows per round trip.
    """

    def __init__(self, engine: Engine, sender: Producer | str, topic: str, *, batch_size: int = 500) -> None:
        self.engine = engine
        self.sender = Producer(sender, client_id=CLIENT_ID) if isinstance(sender, str) else sender
        self.topic = topic
        self.batch_size = batch_size
        self._articles = ArticleRepository(engine)
        self._lock = threading.Lock()

    def pending(self) -> int:
        """Number of stored articles not yet acknowledged by the broker."""
        return self._articles.pending_count()

    def publish_pending(self, max_batches: int | None = None) -> PublishStats:
        """Drain the outbox until it is empty (or ``max_batches``); never raises for the broker.

        Returns:
            Counts; ``error`` says why some rows stayed pending (they go out next time).
        """
        stats = PublishStats()
        batches = 0
        with self._lock:
            while max_batches is None or batches < max_batches:
                batches += 1
                try:
                    sent, failed = self._one_batch()
                except KafkaUnavailableError as exc:
                    stats.error = str(exc)
                    break
                stats.published += sent
                stats.failed += failed
                if failed:
                    stats.error = f"{failed} message(s) not acknowledged by the broker"
                    break
                if sent < self.batch_size:
                    break
        if stats.error:
            log.warning("outbox: %s; %d published, rest stays pending", stats.error, stats.published)
        return stats

    def _one_batch(self) -> tuple[int, int]:
        # The rows stay locked while they are sent: another publisher skips them.
        with self._articles.unpublished(limit=self.batch_size) as batch:
            rows = batch.rows
            if not rows:
                return 0, 0
            emitted_at = datetime.now(UTC)
            messages = [(r.id.encode(), record_from_row(r, emitted_at).to_bytes()) for r in rows]
            acked = self.sender.send(self.topic, messages)
            done = [r.id for r, ok in zip(rows, acked, strict=True) if ok]
            batch.mark_emitted(done, at=emitted_at)
            return len(done), len(rows) - len(done)

    def close(self) -> None:
        """Close the Kafka producer."""
        self.sender.close()
