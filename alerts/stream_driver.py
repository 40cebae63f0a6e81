"""Drive the rule engine from the stream: an event-time watermark read off the scored topic.

Scoring workers publish a :class:`~stream.records.ScoredArticleRecord` only after the score and
its aggregates are committed, so once articles published up to time *T* have come through the
scored topic, the aggregate buckets before *T* are (nearly) complete. The watermark is the newest
``published_at`` seen, minus an allowed lateness for articles still in flight on other partitions
(``alerts.watermark_lateness``) and never ahead of the wall clock. Each time it moves, the engine
evaluates the windows that closed -- so alerts fire as soon as the stream has closed a window, not
a timer period later.
The service's timer stays as a fallback for quiet periods.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from finsent.core.records import SchemaError, ScoredArticleRecord
from finsent.stream.kafka import make_consumer

__all__ = ["ScoredWatermark"]

log = logging.getLogger(__name__)


class ScoredWatermark:
    """Tracks the event-time watermark of the scored-articles topic."""

    def __init__(self, *, lateness: timedelta) -> None:
        self.lateness = lateness
        self.newest: datetime | None = None
        self.emitted: datetime | None = None

    def observe(self, raw: bytes | None, now: datetime | None = None) -> None:
        """Account for one scored record (malformed ones are logged and ignored: not ours to fix)."""
        try:
            record = ScoredArticleRecord.from_bytes(raw)
        except SchemaError as exc:
            log.warning("ignoring malformed scored record: %s", exc)
            return
        clock = now or datetime.now(UTC)
        published = min(record.published_at, clock)  # a future timestamp must not close windows
        if self.newest is None or published > self.newest:
            self.newest = published

    def advance(self, now: datetime | None = None) -> datetime | None:
        """The new watermark if it moved forward since the last call, else None."""
        if self.newest is None:
            return None
        mark = min(self.newest - self.lateness, now or datetime.now(UTC))
        if self.emitted is not None and mark <= self.emitted:
            return None
        self.emitted = mark
        return mark

    async def follow(
        self,
        bootstrap: str,
        topic: str,
        stop: asyncio.Event,
        on_watermark: Callable[[datetime], Awaitable[object]],
    ) -> None:
        """Consume ``topic`` from its end until ``stop``; call ``on_watermark`` as it moves.

        No consumer group: the consumer reads every partition of the topic from its end (the
        alerting service needs the live position, not a replay of history; missed windows are
        the start-up catch-up's job). A group would commit nothing here and only cost a join: the
        embedded broker holds one for half the session timeout (5 s at aiokafka's default).
        """
        consumer = make_consumer(
            topic,
            bootstrap=bootstrap,
            group_id=None,
            client_id="finsent-alerts",
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
                for records in batches.values():
                    for record in records:
                        self.observe(record.value)
                mark = self.advance()
                if mark is not None:
                    await on_watermark(mark)
        finally:
            await consumer.stop()
