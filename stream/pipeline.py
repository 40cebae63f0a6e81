"""One batch of raw articles -> scores stored -> scored records and dead letters published.

Order of a batch (the caller acknowledges the messages only after :meth:`ScoringPipeline.process`
returned, so a crash anywhere re-delivers the batch and the idempotent sink absorbs it):

1. between batches, switch to a newly promoted production model;
2. decode (schema failures -> dead letters);
3. score on the inference thread (records the model fails on are isolated -> dead letters);
4. store scores + aggregates + dead-letter rows in one transaction (retried while PostgreSQL is down);
5. publish the scored records and the dead letters, waiting for the broker's acknowledgement.

Steps 1-3 are :meth:`ScoringPipeline.prepare`, 4-5 :meth:`ScoringPipeline.commit`: the agent runs
them as two stages, so the next batch is scored while the previous one is being stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from finsent.core.records import ArticleRecord, ScoredArticleRecord
from finsent.models.text import compose_text
from finsent.stream.inference import ModelRunner
from finsent.stream.messages import DeadLetter, InboundMessage, OutboundMessage, decode_batch
from finsent.stream.metrics import StreamMetrics
from finsent.stream.model_watch import ModelWatcher
from finsent.stream.sink import ScoredItem, ScoreSink
from finsent.stream.topics import Topics

__all__ = ["BatchReport", "PreparedBatch", "Publisher", "ScoringPipeline", "scored_record"]

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Produces records and waits until the broker acknowledged all of them."""

    async def publish(self, topic: str, messages: Sequence[OutboundMessage]) -> None: ...


@dataclass(frozen=True)
class BatchReport:
    """What happened to one batch."""

    received: int
    scored: int
    dead_lettered: int
    model_version: str | None
    inference_s: float
    total_s: float


@dataclass(frozen=True)
class PreparedBatch:
    """A scored batch waiting to be stored (between the two stages)."""

    received: int
    items: list[ScoredItem]
    dead: list[DeadLetter]
    started: float
    prepare_s: float


def scored_record(item: ScoredItem, scored_at: datetime) -> ScoredArticleRecord:
    """The record published to the scored topic for a stored score."""
    r, s = item.record, item.score
    return ScoredArticleRecord(
        article_id=r.id,
        source_id=r.source_id,
        title=r.title,
        url=r.url,
        published_at=r.published_at,
        emitted_at=r.emitted_at,
        scored_at=scored_at,
        model_version=s.model_version,
        topic=s.topic,
        topic_label=s.topic_label,
        topic_probs=list(s.topic_probs),
        sentiment=s.sentiment,  # type: ignore[arg-type]
        sentiment_probs=list(s.sentiment_probs),
        score=max(-1.0, min(1.0, s.score)),
        confidence=max(0.0, min(1.0, s.confidence)),
        entities=list(r.entities),
    )


class ScoringPipeline:
    """Processes batches; one instance per worker process, shared by its agent instances."""

    def __init__(
        self,
        *,
        runner: ModelRunner,
        sink: ScoreSink,
        publisher: Publisher,
        topics: Topics,
        metrics: StreamMetrics,
        watcher: ModelWatcher | None = None,
    ) -> None:
        self.runner = runner
        self.sink = sink
        self.publisher = publisher
        self.topics = topics
        self.metrics = metrics
        self.watcher = watcher
        #: Running totals of this process (logged by the worker).
        self.totals = {"batches": 0, "received": 0, "scored": 0, "dead_lettered": 0}

    async def process(self, messages: Sequence[InboundMessage]) -> BatchReport:
        """Score, store and publish one batch; returns when it is safe to acknowledge it.

        Raises:
            ModelBrokenError: the model fails on every input (nothing stored; crash and re-deliver).
        """
        return await self.commit(await self.prepare(messages))

    async def prepare(self, messages: Sequence[InboundMessage]) -> PreparedBatch:
        """Stage 1: switch model if one was promoted, decode, score (inference thread).

        Raises:
            ModelBrokenError: the model fails on every input.
        """
        started = time.perf_counter()
        self.metrics.batch_size.observe(len(messages))
        if self.watcher is not None:
            await self.watcher.maybe_reload()
        decoded, dead = decode_batch(messages)
        items, model_dead = await self._score(decoded)
        dead.extend(model_dead)
        return PreparedBatch(len(messages), items, dead, started, time.perf_counter() - started)

    async def commit(self, batch: PreparedBatch) -> BatchReport:
        """Stage 2: store (one transaction, retried while PostgreSQL is down), then publish.

        Batches must be committed in the order they were prepared; the messages may be
        acknowledged once this returns.
        """
        items, dead = batch.items, list(batch.dead)
        scored_at, rejected = await self.sink.write(items, dead)
        stored_at = datetime.now(UTC)
        if rejected:
            refused = {(d.message.partition, d.message.offset) for d in rejected}
            items = [i for i in items if (i.message.partition, i.message.offset) not in refused]
            dead.extend(rejected)
        await self._publish(items, dead, scored_at)
        self._observe(items, dead, stored_at)
        report = BatchReport(
            received=batch.received,
            scored=len(items),
            dead_lettered=len(dead),
            model_version=items[0].score.model_version if items else self.runner.version,
            inference_s=batch.prepare_s,
            total_s=time.perf_counter() - batch.started,
        )
        for key, value in (
            ("batches", 1),
            ("received", report.received),
            ("scored", report.scored),
            ("dead_lettered", report.dead_lettered),
        ):
            self.totals[key] += value
        log.debug("batch stored", extra={"batch": report.__dict__})
        return report

    async def _score(
        self, decoded: Sequence[tuple[InboundMessage, ArticleRecord]]
    ) -> tuple[list[ScoredItem], list[DeadLetter]]:
        if not decoded:
            return [], []
        texts = [compose_text(record.title, record.body) for _, record in decoded]
        started = time.perf_counter()
        results = await self.runner.predict_isolating(texts)
        self.metrics.inference_seconds.observe(time.perf_counter() - started)
        items: list[ScoredItem] = []
        dead: list[DeadLetter] = []
        for (message, record), result in zip(decoded, results, strict=True):
            if isinstance(result, Exception):
                dead.append(DeadLetter.of(message, result))
            else:
                items.append(ScoredItem(message, record, result))
        return items, dead

    async def _publish(
        self, items: Sequence[ScoredItem], dead: Sequence[DeadLetter], scored_at: datetime
    ) -> None:
        if dead:
            await self.publisher.publish(self.topics.dead_letters, [d.outbound() for d in dead])
        if items:
            out = [
                OutboundMessage(i.record.id.encode("utf-8"), scored_record(i, scored_at).to_bytes())
                for i in items
            ]
            await self.publisher.publish(self.topics.scored_articles, out)

    def _observe(self, items: Sequence[ScoredItem], dead: Sequence[DeadLetter], stored_at: datetime) -> None:
        by_version: dict[str, int] = {}
        for item in items:
            by_version[item.score.model_version] = by_version.get(item.score.model_version, 0) + 1
            self.metrics.latency_seconds.observe(
                max(0.0, (stored_at - item.record.emitted_at).total_seconds())
            )
        for version, n in by_version.items():
            self.metrics.articles_scored.labels(model_version=version).inc(n)
        for letter in dead:
            self.metrics.dead_letters.labels(error_type=letter.error_type).inc()
            log.warning(
                "dead-lettered",
                extra={
                    "error_type": letter.error_type,
                    "error": letter.error[:300],
                    "topic": letter.message.topic,
                    "partition": letter.message.partition,
                    "offset": letter.message.offset,
                },
            )
