"""Publishing to Kafka with kafka-python: the outbox drain, and a direct sender for replays.

The outbox: articles are stored first (``emitted_at`` NULL), then published keyed by article id
with ``acks=all``; ``emitted_at`` is set only for messages the broker acknowledged. A broker that
is down loses nothing -- rows stay pending and go out on the next drain.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update

from finsent.core.records import ArticleRecord, EntityMention
from finsent.ingest.exceptions import PublishError
from finsent.storage.schema import Article as ArticleRow

__all__ = ["KafkaSender", "OutboxPublisher", "PublishStats", "record_from_row"]

log = logging.getLogger(__name__)


class KafkaSender:
    """A lazily created, idempotent kafka-python producer (``acks=all``, retries); thread-safe.

    Args:
        bootstrap: ``host:port`` list of the brokers.
        connect_timeout_s: Longest wait to reach a broker or for metadata.
        send_timeout_s: Longest wait for a batch to be acknowledged.
        extra: More KafkaProducer options (override the defaults).
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        connect_timeout_s: float = 5.0,
        send_timeout_s: float = 30.0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.connect_timeout_s = connect_timeout_s
        self.send_timeout_s = send_timeout_s
        self.extra = extra or {}
        self._producer: Any = None
        self._lock = threading.Lock()

    def _reachable(self) -> bool:
        for server in self.bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                with socket.create_connection((host.strip("[]"), int(port)), timeout=self.connect_timeout_s):
                    return True
            except (OSError, ValueError):
                continue
        return False

    def _get(self) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        if self._producer is None:
            # A KafkaProducer whose bootstrap fails leaks its sockets (kafka-python 3.0), and a
            # plain TCP probe answers "broker down" faster anyway.
            if not self._reachable():
                raise PublishError(f"Kafka at {self.bootstrap} unreachable (connection refused or timed out)")
            request_ms = int(self.connect_timeout_s * 1000)
            config: dict[str, Any] = {
                "bootstrap_servers": self.bootstrap.split(","),
                "acks": "all",
                "retries": 5,
                "enable_idempotence": True,
                "linger_ms": 10,
                "max_block_ms": request_ms,
                "bootstrap_timeout_ms": request_ms,
                "request_timeout_ms": max(request_ms, 1000),
                "delivery_timeout_ms": max(int(self.send_timeout_s * 1000), request_ms + 20),
                "client_id": "finsent-ingest",
                **self.extra,
            }
            try:
                self._producer = KafkaProducer(**config)
            except (KafkaError, OSError) as exc:
                raise PublishError(f"Kafka at {self.bootstrap} unreachable: {exc}") from None
        return self._producer

    def send(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        """Send ``(key, value)`` messages; returns, per message, whether the broker acknowledged it.

        Raises:
            PublishError: no broker could be reached (nothing was sent).
        """
        from kafka.errors import KafkaError

        with self._lock:
            producer = self._get()
            futures = []
            try:
                for key, value in messages:
                    futures.append(producer.send(topic, key=key, value=value))
                producer.flush(timeout=self.send_timeout_s)
            except (KafkaError, OSError) as exc:
                log.warning("kafka send to %s failed: %s", topic, exc)
                self._reset()
            acked = [f.is_done and f.succeeded() for f in futures]
            acked += [False] * (len(messages) - len(acked))
            if not all(acked):
                self._reset()  # a fresh producer reconnects cleanly once the broker is back
            return acked

    def _reset(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # closing a broken producer may fail in many ways; it is discarded anyway
                log.debug("closing kafka producer failed", exc_info=True)

    def close(self) -> None:
        """Flush and close the producer."""
        with self._lock:
            self._reset()


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
        sender: Kafka sender (or a bootstrap string to make one).
        topic: The raw-articles topic.
        batch_size: Rows per round trip.
    """

    def __init__(
        self, engine: Engine, sender: KafkaSender | str, topic: str, *, batch_size: int = 500
    ) -> None:
        self.engine = engine
        self.sender = KafkaSender(sender) if isinstance(sender, str) else sender
        self.topic = topic
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def pending(self) -> int:
        """Number of stored articles not yet acknowledged by the broker."""
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(ArticleRow).where(ArticleRow.emitted_at.is_(None))
            return int(conn.execute(query).scalar_one())

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
                except PublishError as exc:
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
        query = (
            select(ArticleRow)
            .where(ArticleRow.emitted_at.is_(None))
            .order_by(ArticleRow.fetched_at, ArticleRow.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as conn:
            rows = conn.execute(query).all()
            if not rows:
                return 0, 0
            emitted_at = datetime.now(UTC)
            messages = [(r.id.encode(), record_from_row(r, emitted_at).to_bytes()) for r in rows]
            acked = self.sender.send(self.topic, messages)
            done = [r.id for r, ok in zip(rows, acked, strict=True) if ok]
            if done:
                conn.execute(update(ArticleRow).where(ArticleRow.id.in_(done)).values(emitted_at=emitted_at))
            return len(done), len(rows) - len(done)

    def close(self) -> None:
        """Close the Kafka producer."""
        self.sender.close()
