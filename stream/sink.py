"""Write scored batches to PostgreSQL in ONE transaction: articles, scores, entity and sentence
scores, aggregates and dead letters.

Idempotent on (article, model version), so at-least-once delivery stores each article once.
PostgreSQL unavailable -> retry with exponential backoff until it is back (the caller does not
ack meanwhile, so nothing is committed and nothing is lost). Rows PostgreSQL rejects as bad data
are isolated by bisection and returned as dead letters; the rest of the batch is stored.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_never,
    wait_exponential,
    wait_random,
)

from finsent.core.records import ArticleRecord
from finsent.models import Score
from finsent.storage.exceptions import StorageDataError, StorageUnavailableError
from finsent.storage.scores_repo import ScoreWriter
from finsent.stream.messages import DeadLetter, InboundMessage
from finsent.stream.metrics import StreamMetrics
from finsent.stream.results import EntityResult, SentenceResult

__all__ = [
    "STAGE",
    "EntityResult",
    "ScoreSink",
    "ScoredItem",
    "SentenceResult",
    "article_row",
    "dead_letter_row",
    "entity_rows",
    "score_row",
    "sentence_rows",
]

log = logging.getLogger(__name__)

#: ``dead_letters.stage`` of the rows this worker writes.
STAGE = "stream"

R = TypeVar("R")


@dataclass(frozen=True)
class ScoredItem:
    """One article with its score, ready to store.

    ``score`` is the article's document score: rolled up from the headline and the body's
    sentences when the body was scored sentence by sentence (``sentences`` not empty), else the
    headline (+ lead) score. ``entities`` has one result per (deduplicated) entity of the record.
    """

    message: InboundMessage
    record: ArticleRecord
    score: Score
    entities: list[EntityResult] = field(default_factory=list)
    sentences: list[SentenceResult] = field(default_factory=list)


def article_row(record: ArticleRecord) -> dict[str, Any]:
    """The ``articles`` row of a record (inserted only when ingest has not stored it already)."""
    return {
        "id": record.id,
        "source_id": record.source_id,
        "url": record.url,
        "title": record.title,
        "body": record.body,
        "published_at": record.published_at,
        "published_at_estimated": record.published_at_estimated,
        "fetched_at": record.fetched_at,
        "language": record.language,
        "tickers": list(record.tickers),
        "entities": [e.model_dump() for e in record.entities],
        "content_hash": record.content_hash,
        "cluster_id": record.cluster_id,
        "novelty": record.novelty,
        "emitted_at": record.emitted_at,
    }


def entity_rows(item: ScoredItem, scored_at: datetime) -> list[dict[str, Any]]:
    """The ``entity_scores`` rows of a scored article: one per entity result, plus a
    ``source='document'`` row (the document score) for every ticker or mention of the record the
    results do not cover, so each entity of the article is counted once either way."""
    s, record = item.score, item.record
    rows = []
    for e in item.entities:
        row = _entity_row(item, e.ticker, e.relevance, scored_at)
        row.update(
            source=e.source,
            in_title=e.in_title,
            mentions=e.mentions,
            sentiment=e.sentiment,
            sentiment_probs=list(e.sentiment_probs),
            score=e.score,
            confidence=e.confidence,
        )
        rows.append(row)
    covered = {e.ticker for e in item.entities}
    relevance: dict[str, float] = {}
    for m in record.entities:
        relevance[m.ticker] = max(m.relevance, relevance.get(m.ticker, 0.0))
    for ticker in [*(m.ticker for m in record.entities), *record.tickers]:
        if ticker and ticker not in covered:
            covered.add(ticker)
            row = _entity_row(item, ticker, relevance.get(ticker, 1.0), scored_at)
            row.update(source="document", in_title=False, mentions=0, sentiment=s.sentiment)
            row.update(sentiment_probs=list(s.sentiment_probs), score=s.score, confidence=s.confidence)
            rows.append(row)
    return rows


def _entity_row(item: ScoredItem, ticker: str, relevance: float, scored_at: datetime) -> dict[str, Any]:
    clamped = min(1.0, max(0.0, relevance)) if math.isfinite(relevance) else 0.0
    return {
        "article_id": item.record.id,
        "entity": ticker,
        "model_version": item.score.model_version,
        "relevance": clamped,
        "published_at": item.record.published_at,
        "scored_at": scored_at,
    }


def sentence_rows(item: ScoredItem) -> list[dict[str, Any]]:
    """The ``sentence_scores`` rows of a scored article (none for headline-only items)."""
    return [
        {
            "article_id": item.record.id,
            "model_version": item.score.model_version,
            "idx": t.index,
            "char_start": t.start,
            "char_end": t.end,
            "text": _no_nul(t.text),
            "sentiment": t.sentiment,
            "sentiment_probs": list(t.sentiment_probs),
            "score": t.score,
            "confidence": t.confidence,
        }
        for t in item.sentences
    ]


def score_row(item: ScoredItem, scored_at: datetime) -> dict[str, Any]:
    """The ``scores`` row of a scored article."""
    s = item.score
    return {
        "article_id": item.record.id,
        "model_version": s.model_version,
        "topic": s.topic,
        "topic_label": s.topic_label,
        "topic_probs": list(s.topic_probs),
        "sentiment": s.sentiment,
        "sentiment_probs": list(s.sentiment_probs),
        "score": s.score,
        "confidence": s.confidence,
        "published_at": item.record.published_at,
        "scored_at": scored_at,
    }


class ScoreSink:
    """Stores batches on a small thread pool (the database driver blocks)."""

    def __init__(
        self,
        engine: Engine,
        *,
        metrics: StreamMetrics | None = None,
        threads: int = 1,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._writer = ScoreWriter(engine, stage=STAGE)
        self._metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="finsent-db")
        self._max_backoff_s = max_backoff_s

    async def write(
        self, items: Sequence[ScoredItem], dead: Sequence[DeadLetter]
    ) -> tuple[datetime, list[DeadLetter]]:
        """Store a batch; retry while PostgreSQL is unavailable.

        Returns:
            ``(scored_at, rejected)``: the time stamped on the score rows, and dead letters for
            items PostgreSQL rejected (they are stored in the dead-letter table, not as scores).
        """
        started = time.perf_counter()
        try:
            scored_at = await self._retrying(self._write_tx, items, dead)
            rejected: list[DeadLetter] = []
        except StorageDataError:
            if not items:
                raise  # the dead-letter rows themselves were refused: a schema bug, crash loudly
            await self._retrying(self._write_tx, [], dead)
            scored_at, rejected = await self._write_isolating(items)
        if self._metrics is not None:
            self._metrics.db_write_seconds.observe(time.perf_counter() - started)
        return scored_at, rejected

    async def _write_isolating(self, items: Sequence[ScoredItem]) -> tuple[datetime, list[DeadLetter]]:
        try:
            return await self._retrying(self._write_tx, items, []), []
        except StorageDataError as exc:
            if len(items) == 1:
                letter = DeadLetter.of(items[0].message, exc)
                log.warning("row refused by PostgreSQL; dead-lettered: %s", exc)
                return await self._retrying(self._write_tx, [], [letter]), [letter]
        mid = len(items) // 2
        first_at, first = await self._write_isolating(items[:mid])
        second_at, second = await self._write_isolating(items[mid:])
        return max(first_at, second_at), first + second

    def _write_tx(self, items: Sequence[ScoredItem], dead: Sequence[DeadLetter]) -> datetime:
        scored_at = datetime.now(UTC)
        self._writer.write(
            articles=[article_row(i.record) for i in items],
            scores=[score_row(i, scored_at) for i in items],
            entity_scores=[row for i in items for row in entity_rows(i, scored_at)],
            sentence_scores=[row for i in items for row in sentence_rows(i)],
            dead_letters=[dead_letter_row(d) for d in dead],
        )
        return scored_at

    async def _retrying(self, fn: Callable[..., R], *args: Any) -> R:
        loop = asyncio.get_running_loop()
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(StorageUnavailableError),
            wait=wait_exponential(multiplier=0.2, max=self._max_backoff_s) + wait_random(0, 0.2),
            stop=stop_never,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await loop.run_in_executor(self._executor, fn, *args)
        raise AssertionError("unreachable: tenacity re-raises or returns")  # pragma: no cover

    def _before_sleep(self, state: RetryCallState) -> None:
        if self._metrics is not None:
            self._metrics.db_retries.inc()
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "PostgreSQL unavailable; batch held, retrying",
            extra={"attempt": state.attempt_number, "retry_in_s": round(wait, 2), "error": str(exc)},
        )

    def close(self) -> None:
        """Wait for the running write and stop the database thread."""
        self._executor.shutdown(wait=True)


def dead_letter_row(letter: DeadLetter) -> dict[str, Any]:
    """The ``dead_letters`` columns of a consumed record that failed (``stage`` left to the writer)."""
    m = letter.message
    return {
        "error_type": _no_nul(letter.error_type),
        "error": _no_nul(letter.error),
        "source": m.topic,
        "partition": m.partition,
        "offset": m.offset,
        "key": None if m.key is None else _no_nul(m.key.decode("utf-8", errors="replace")),
        "payload": m.value,
    }


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; keep it visible instead of failing the batch.
    return value.replace("\x00", "\\x00")
