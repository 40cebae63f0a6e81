"""One batch of raw articles -> scores stored -> scored records and dead letters published.

Order of a batch (the caller acknowledges the messages only after :meth:`ScoringPipeline.process`
returned, so a crash anywhere re-delivers the batch and the idempotent sink absorbs it):

1. between batches, switch to a newly promoted production model;
2. decode (schema failures -> dead letters; a record whose only fault is in its entity mentions
   is salvaged without them, :mod:`stream.sanitise`);
3. plan each article's units (:mod:`stream.article`: the headline, and with whole-article scoring
   the body's sentences, with entity targets) and score all units of the batch in one call on the
   inference thread (records the model fails on are isolated -> dead letters); roll them up;
4. store scores, sentence and entity scores, aggregates and dead-letter rows in one transaction
   (retried while PostgreSQL is down);
5. publish the scored records and the dead letters, waiting for the broker's acknowledgement.

Steps 1-3 are :meth:`ScoringPipeline.prepare`, 4 :meth:`ScoringPipeline.store` and 5
:meth:`ScoringPipeline.publish` (:meth:`ScoringPipeline.commit` runs both): the agent runs them as
three stages, so batch N+2 is scored while N+1 is stored and N is published.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from finsent.core.records import ArticleRecord, EntitySentiment, ScoredArticleRecord
from finsent.core.sections import StreamSettings
from finsent.stream.article import ArticlePlan, Unit, assemble, plan_article, unit_targets
from finsent.stream.inference import ModelRunner
from finsent.stream.messages import DeadLetter, InboundMessage, OutboundMessage, decode_batch
from finsent.stream.metrics import StreamMetrics
from finsent.stream.model_watch import ModelWatcher
from finsent.stream.sanitise import sanitise_entities
from finsent.stream.sink import ScoredItem, ScoreSink
from finsent.stream.topics import Topics

__all__ = [
    "ArticleOptions",
    "BatchReport",
    "PreparedBatch",
    "Publisher",
    "ScoringPipeline",
    "StoredBatch",
    "scored_record",
]

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Produces records and waits until the broker acknowledged all of them."""

    async def publish(self, topic: str, messages: Sequence[OutboundMessage]) -> None: ...


@dataclass(frozen=True)
class ArticleOptions:
    """How an article is turned into scoring units (``settings.stream``)."""

    whole_article: bool
    max_sentences: int
    max_entities: int
    max_spans_per_entity: int
    entity_scoring: bool = True

    @classmethod
    def of(cls, stream: Any) -> ArticleOptions:
        """From ``settings.stream`` or a ``StreamConfig`` (same field names)."""
        return cls(
            stream.whole_article,
            stream.max_sentences,
            stream.max_entities,
            stream.max_spans_per_entity,
            stream.entity_scoring,
        )


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


@dataclass(frozen=True)
class StoredBatch:
    """A batch stored in PostgreSQL, waiting to be published (rows PostgreSQL refused moved to ``dead``)."""

    prepared: PreparedBatch
    items: list[ScoredItem]
    dead: list[DeadLetter]
    scored_at: datetime


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
        entity_scores=[
            EntitySentiment(
                ticker=e.ticker,
                relevance=e.relevance,
                sentiment=e.sentiment,  # type: ignore[arg-type]
                sentiment_probs=list(e.sentiment_probs),
                score=max(-1.0, min(1.0, e.score)),
                confidence=max(0.0, min(1.0, e.confidence)),
                source=e.source,
            )
            for e in item.entities
        ],
        sentences_scored=len(item.sentences),
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
        options: ArticleOptions | None = None,
    ) -> None:
        self.runner = runner
        self.options = options or ArticleOptions.of(StreamSettings())
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
        salvaged: dict[str, Counter[str]] = {}
        decoded, dead = decode_batch(messages, salvaged=salvaged)
        self.metrics.stage_seconds.labels(stage="decode").observe(time.perf_counter() - started)
        items, model_dead = await self._score(decoded, salvaged)
        dead.extend(model_dead)
        return PreparedBatch(len(messages), items, dead, started, time.perf_counter() - started)

    async def commit(self, batch: PreparedBatch) -> BatchReport:
        """Stage 2: store (one transaction, retried while PostgreSQL is down), then publish.

        Batches must be committed in the order they were prepared; the messages may be
        acknowledged once this returns.
        """
        return await self.publish(await self.store(batch))

    async def store(self, batch: PreparedBatch) -> StoredBatch:
        """Stage 2a: store the batch in one transaction (retried while PostgreSQL is down).

        Batches must be stored in the order they were prepared.
        """
        items, dead = batch.items, list(batch.dead)
        began = time.perf_counter()
        scored_at, rejected = await self.sink.write(items, dead)
        stored_at = datetime.now(UTC)
        self.metrics.stage_seconds.labels(stage="store").observe(time.perf_counter() - began)
        if rejected:
            refused = {(d.message.partition, d.message.offset) for d in rejected}
            items = [i for i in items if (i.message.partition, i.message.offset) not in refused]
            dead.extend(rejected)
        self._observe(items, dead, stored_at)
        return StoredBatch(batch, items, dead, scored_at)

    async def publish(self, stored: StoredBatch) -> BatchReport:
        """Stage 2b: publish a stored batch's scored records and dead letters (broker-acknowledged).

        Batches must be published in the order they were stored; the messages may be
        acknowledged once this returns. Runs while the next batch is stored: the broker round
        trip is off the database's critical path.
        """
        began = time.perf_counter()
        await self._publish(stored.items, stored.dead, stored.scored_at)
        self.metrics.stage_seconds.labels(stage="publish").observe(time.perf_counter() - began)
        batch = stored.prepared
        report = BatchReport(
            received=batch.received,
            scored=len(stored.items),
            dead_lettered=len(stored.dead),
            model_version=stored.items[0].score.model_version if stored.items else self.runner.version,
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
        self, decoded: Sequence[tuple[InboundMessage, ArticleRecord]], salvaged: dict[str, Counter[str]]
    ) -> tuple[list[ScoredItem], list[DeadLetter]]:
        if not decoded:
            return [], []
        started = time.perf_counter()
        plans = [self._plan(record, salvaged.get(record.id)) for _, record in decoded]
        units = [u for plan in plans for u in plan.units]
        with_head = self.options.entity_scoring and self.runner.has_entity_head
        targets = [unit_targets(u) for u in units] if with_head else None
        self.metrics.stage_seconds.labels(stage="plan").observe(time.perf_counter() - started)
        started = time.perf_counter()
        results = await self.runner.predict_isolating([u.text for u in units], targets)
        if targets is not None:
            results = await self._retry_without_targets(units, targets, results)
        self.metrics.inference_seconds.observe(time.perf_counter() - started)
        started = time.perf_counter()
        items: list[ScoredItem] = []
        dead: list[DeadLetter] = []
        at = 0
        for (message, record), plan in zip(decoded, plans, strict=True):
            mine, at = results[at : at + len(plan.units)], at + len(plan.units)
            if isinstance(mine[0], Exception):
                dead.append(DeadLetter.of(message, mine[0]))
                continue
            assembled = assemble(plan, [None if isinstance(r, Exception) else r for r in mine])
            assert assembled is not None  # the headline unit scored
            score, sentences, entities = assembled
            items.append(ScoredItem(message, record, score, entities, sentences))
            self.metrics.sentences_scored.inc(len(sentences))
        self.metrics.stage_seconds.labels(stage="assemble").observe(time.perf_counter() - started)
        return items, dead

    def _plan(self, record: ArticleRecord, salvaged: Counter[str] | None) -> ArticlePlan:
        o = self.options
        entities, dropped = sanitise_entities(
            record, max_entities=o.max_entities, max_spans=o.max_spans_per_entity
        )
        if salvaged:
            dropped.update(salvaged)
        if dropped:
            for reason, n in dropped.items():
                self.metrics.sanitised.labels(reason=reason).inc(n)
            log.warning(
                "entity mentions sanitised (dropped or capped); the article is scored",
                extra={"article_id": record.id, "dropped": dict(sorted(dropped.items()))},
            )
        return plan_article(record, entities, whole_article=o.whole_article, max_sentences=o.max_sentences)

    async def _retry_without_targets(
        self, units: Sequence[Unit], targets: Sequence[Sequence[Any]], results: list[Any]
    ) -> list[Any]:
        """Units whose targets the model refused (bad data) are scored again without them."""
        again = [i for i, r in enumerate(results) if isinstance(r, Exception) and targets[i]]
        if not again:
            return results
        log.warning("entity targets refused by the model; %d unit(s) scored without them", len(again))
        retried = await self.runner.predict_isolating([units[i].text for i in again])
        out = list(results)
        for i, r in zip(again, retried, strict=True):
            out[i] = r
        return out

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
