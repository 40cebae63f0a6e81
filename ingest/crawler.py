"""One crawl pass: poll sources in parallel, normalise, store (outbox), dead-letter, publish."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from finsent.core.errors import BadDataError, ConfigError, RetryableError
from finsent.ingest.fetch import Fetcher
from finsent.ingest.items import Article, BadItem, PollResult, RawItem
from finsent.ingest.normalize import Normalizer
from finsent.ingest.publish import OutboxPublisher, PublishStats
from finsent.ingest.sources.base import PollContext, Source
from finsent.ingest.store import ArticleSink, DeadLetterSink, MemoryDeadLetters
from finsent.ingest.urls import canonical_url

__all__ = ["CrawlReport", "Crawler", "SourceSummary"]

log = logging.getLogger(__name__)


@dataclass
class SourceSummary:
    """What one poll of one source did."""

    source_id: str
    kind: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    errors: int = 0
    not_modified: int = 0
    requests: int = 0
    deferred: int = 0
    last_error: str | None = None
    duration_s: float = 0.0


@dataclass
class CrawlReport:
    """A crawl pass: one summary per source, and the outbox drain."""

    sources: list[SourceSummary] = field(default_factory=list)
    published: PublishStats = field(default_factory=PublishStats)

    @property
    def errors(self) -> int:
        """Errors over all sources."""
        return sum(s.errors for s in self.sources)


@dataclass
class _Health:
    failures: int = 0
    next_due: float = 0.0


class Crawler:
    """Polls sources and moves their items into the store (and out through the publisher).

    Args:
        sources: The sources to crawl.
        fetcher: Shared polite HTTP fetcher.
        store: De-duplicating article store (the outbox).
        publisher: Drains the outbox to Kafka (None: store only).
        dead_letters: Where bad items are kept (default: in memory).
        normalizer: Text/URL/time/language/entity normalisation.
        max_workers: Sources polled in parallel.
        max_items_per_poll: Items read from one response at most.
        failure_backoff_max_s: Longest delay before a failing source is polled again.
    """

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        fetcher: Fetcher,
        store: ArticleSink,
        publisher: OutboxPublisher | None = None,
        dead_letters: DeadLetterSink | None = None,
        normalizer: Normalizer | None = None,
        max_workers: int = 4,
        max_items_per_poll: int = 500,
        failure_backoff_max_s: float = 3600.0,
    ) -> None:
        self.sources = list(sources)
        self.fetcher = fetcher
        self.store = store
        self.publisher = publisher
        self.dead_letters: DeadLetterSink = dead_letters or MemoryDeadLetters()
        self.normalizer = normalizer or Normalizer()
        self.max_workers = max_workers
        self.max_items_per_poll = max_items_per_poll
        self.failure_backoff_max_s = failure_backoff_max_s
        self._health: dict[str, _Health] = {}
        self._health_lock = threading.Lock()

    # --- scheduling helpers ---------------------------------------------------------------
    def is_due(self, source: Source, now: float | None = None) -> bool:
        """False while a failing source waits out its backoff."""
        with self._health_lock:
            health = self._health.get(source.id)
        return health is None or (now if now is not None else time.monotonic()) >= health.next_due

    def _record_health(self, source: Source, failed: bool) -> None:
        with self._health_lock:
            health = self._health.setdefault(source.id, _Health())
            if not failed:
                health.failures, health.next_due = 0, 0.0
                return
            health.failures += 1
            delay = backoff_delay(source.interval_s, health.failures, self.failure_backoff_max_s)
            health.next_due = time.monotonic() + delay.total_seconds()

    # --- crawling -------------------------------------------------------------------------
    def crawl_once(self, sources: Sequence[Source] | None = None, *, publish: bool = True) -> CrawlReport:
        """Poll every source once (in parallel), then drain the outbox."""
        chosen = list(sources) if sources is not None else self.sources
        report = CrawlReport()
        if chosen:
            with ThreadPoolExecutor(max_workers=min(self.max_workers, len(chosen))) as pool:
                report.sources = list(pool.map(self.poll_source, chosen))
        if publish:
            report.published = self.publish()
        return report

    def close(self) -> None:
        """Close HTTP connections and the Kafka producer."""
        self.fetcher.close()
        if self.publisher is not None:
            self.publisher.close()

    def publish(self) -> PublishStats:
        """Drain the outbox (no-op without a publisher)."""
        return self.publisher.publish_pending() if self.publisher else PublishStats()

    def poll_source(self, source: Source) -> SourceSummary:
        """Poll one source and store its items; never raises (failures are counted and logged)."""
        summary = SourceSummary(source.id, source.kind)
        started = time.monotonic()
        ctx = PollContext(
            fetcher=self.fetcher,
            now=datetime.now(UTC),
            is_known=self._is_known,
            max_items=self.max_items_per_poll,
            select_new=self._select_new,
        )
        failed = False
        try:
            result = source.poll(ctx)
            self._absorb(source, result, summary, ctx.now)
            # Only now: the items behind these validators are stored. With items deferred the
            # validators stay old, so the next poll gets the whole response again, not a 304.
            for state in ctx.pending_states if not result.deferred else ():
                self.fetcher.commit(state)
            for advance in ctx.on_stored:  # cursors move only past items that are stored
                advance()
        except (RetryableError, BadDataError, ConfigError, SQLAlchemyError) as exc:
            failed = True
            self._fail(summary, exc, level=logging.WARNING)
        except Exception as exc:  # a bug or hostile input in one source must not stop the others
            failed = True
            log.exception("source %s: unexpected error", source.id)
            self._fail(summary, exc, level=logging.DEBUG)
        self._record_health(source, failed)
        summary.duration_s = round(time.monotonic() - started, 3)
        return summary

    def _fail(self, summary: SourceSummary, exc: Exception, *, level: int) -> None:
        summary.errors += 1
        summary.last_error = f"{type(exc).__name__}: {exc}"
        log.log(level, "source %s: %s", summary.source_id, summary.last_error)

    def _is_known(self, url: str) -> bool:
        canonical = canonical_url(url)
        return canonical is not None and self.store.is_known_url(canonical)

    def _select_new(self, items: list[RawItem], limit: int) -> tuple[list[RawItem], int]:
        """The first ``limit`` items not stored yet, and how many new ones are left over."""
        if len(items) <= limit:
            return items, 0
        ids: list[str | None] = []
        for raw in items:
            try:
                ids.append(self.normalizer.identity(raw))
            except BadDataError:
                ids.append(None)  # kept: normalising it dead-letters it with the reason
        stored = self.store.known_ids({i for i in ids if i is not None})
        fresh = [raw for raw, i in zip(items, ids, strict=True) if i is None or i not in stored]
        return fresh[:limit], max(0, len(fresh) - limit)

    def _absorb(self, source: Source, result: PollResult, summary: SourceSummary, now: datetime) -> None:
        summary.requests += result.requests
        summary.not_modified += result.not_modified
        if result.deferred:
            summary.deferred += result.deferred
            log.warning(
                "source %s: %d new items over the per-poll cap of %d wait for the next polls",
                source.id,
                result.deferred,
                self.max_items_per_poll,
            )
        summary.fetched += len(result.items) + len(result.bad)
        bad = list(result.bad)
        articles: list[Article] = []
        for raw in result.items:
            try:
                articles.append(self.normalizer.normalize(raw, now=now))
            except BadDataError as exc:
                bad.append(_bad_from_raw(raw, exc))
            except Exception as exc:  # normaliser bug on hostile text: dead-letter, keep crawling
                log.exception("source %s: normalising an item failed", source.id)
                bad.append(_bad_from_raw(raw, exc))
        for message in result.errors:
            summary.errors += 1
            summary.last_error = message
            log.warning("source %s: %s", source.id, message)
        if bad:
            summary.errors += len(bad)
            summary.last_error = bad[-1].reason
            for item in bad:
                log.warning("source %s: bad item %s: %s", item.source_id, item.key or "-", item.reason)
            self.dead_letters.record(bad)
        stored = self.store.add(articles)
        summary.new += len(stored.new)
        summary.duplicates += stored.duplicates


def _bad_from_raw(raw: RawItem, exc: Exception) -> BadItem:
    payload = json.dumps(asdict(raw), default=str, ensure_ascii=False)[:65536]
    key = raw.url if isinstance(raw.url, str) else raw.item_id
    return BadItem(
        raw.source_id,
        str(exc) or type(exc).__name__,
        type(exc).__name__,
        key,
        payload.encode("utf-8", "replace"),
    )


def backoff_delay(interval_s: float, failures: int, cap_s: float) -> timedelta:
    """Delay before polling a source again after ``failures`` consecutive failures."""
    return timedelta(seconds=min(interval_s * 2 ** max(0, failures - 1), cap_s))
