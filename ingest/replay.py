"""Replay a CSV/JSONL corpus into the raw-articles topic (backfills, demos, load tests).

Two modes:

* with an ``engine``: the live path -- normalise, de-duplicate against the ``articles`` table,
  store (outbox), publish, mark emitted. Replaying the same file twice publishes nothing new.
* without: normalise and publish directly (no database; duplicates only dropped within the
  run). The stream worker inserts the article rows itself.

:func:`load_records` + :func:`publish_records` split the work so a benchmark can build records
outside its timed section and then publish at a fixed rate.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine

from finsent.core.errors import BadDataError
from finsent.core.records import ArticleRecord
from finsent.ingest.config import FieldMap
from finsent.ingest.entities import EntityTagger
from finsent.ingest.items import Article, BadItem, RawItem
from finsent.ingest.normalize import Normalizer
from finsent.ingest.publish import CLIENT_ID, OutboxPublisher
from finsent.ingest.sources.file import iter_file_items
from finsent.ingest.store import ArticleStore, DeadLetterSink, MemoryDeadLetters, SqlDeadLetters
from finsent.stream.kafka import Producer

__all__ = ["ReplayStats", "load_records", "publish_records", "replay"]

log = logging.getLogger(__name__)


@dataclass
class ReplayStats:
    """Counts and timing of a replay."""

    read: int = 0
    new: int = 0
    duplicates: int = 0
    bad: int = 0
    published: int = 0
    unpublished: int = 0
    elapsed_s: float = 0.0

    @property
    def rate_per_s(self) -> float:
        """Published messages per second."""
        return self.published / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _salted(article: Article, salt: str | None, retime: datetime | None) -> Article:
    if salt:
        article = replace(
            article,
            id=hashlib.sha256(f"{salt}\0{article.id}".encode()).hexdigest()[:32],
            content_hash=hashlib.sha256(f"{salt}\0{article.content_hash}".encode()).hexdigest(),
        )
    if retime is not None:
        article = replace(article, published_at=retime, fetched_at=retime, published_at_estimated=False)
    return article


def _articles(
    entries: Iterable[RawItem | BadItem],
    normalizer: Normalizer,
    stats: ReplayStats,
    bad: list[BadItem],
    salt: str | None,
    retime: bool,
) -> Iterator[Article]:
    for entry in entries:
        stats.read += 1
        if isinstance(entry, BadItem):
            bad.append(entry)
            continue
        try:
            article = normalizer.normalize(entry)
        except BadDataError as exc:
            bad.append(BadItem(entry.source_id, str(exc), type(exc).__name__, entry.url or entry.item_id))
            continue
        yield _salted(article, salt, datetime.now(UTC) if retime else None)


class _Pacer:
    """A token bucket: the n-th message goes out no earlier than ``n / rate`` seconds after start."""

    def __init__(self, rate_per_s: float | None) -> None:
        self.rate = rate_per_s
        self.start = time.monotonic()

    def wait(self, sent: int) -> None:
        if self.rate:
            delay = self.start + sent / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)


def _chunk(rate_per_s: float | None, batch_size: int) -> int:
    # About ten sends per second keeps a paced replay smooth.
    return max(1, min(batch_size, int(rate_per_s / 10))) if rate_per_s else batch_size


def replay(
    path: Path | str,
    *,
    bootstrap: str,
    topic: str,
    engine: Engine | None = None,
    rate_per_s: float | None = None,
    source_id: str = "replay",
    fields: FieldMap | None = None,
    fmt: str = "auto",
    batch_size: int = 500,
    detect_languages: bool = True,
    id_salt: str | None = None,
    retime: bool = False,
    limit: int | None = None,
    tagger: EntityTagger | None = None,
    dead_letters: DeadLetterSink | None = None,
    progress: Callable[[ReplayStats], None] | None = None,
) -> ReplayStats:
    """Publish a CSV/JSONL corpus to ``topic`` as ArticleRecords keyed by article id.

    Args:
        path: The corpus (columns/keys per ``fields``; default title, body, url, published_at,
            id, tickers).
        bootstrap: Kafka bootstrap servers.
        topic: Target topic (normally ``Topics(prefix).raw_articles``).
        engine: Database engine: de-duplicate and publish through the ``articles`` outbox.
        rate_per_s: Messages per second at most (None: as fast as possible).
        source_id: Source id stamped on every article.
        fields: Field mapping of the corpus.
        fmt: ``auto`` (by suffix), ``csv`` or ``jsonl``.
        batch_size: Messages per send.
        detect_languages: Run language detection (about 1-3 ms per article).
        id_salt: Derive fresh ids and content hashes from this salt, so the same corpus can be
            replayed again and again (load tests) without being de-duplicated.
        retime: Stamp articles with the current time instead of their own (live-looking demo).
        limit: Read at most this many rows.
        tagger: Entity tagger (default: bundled ticker table).
        dead_letters: Where bad rows go (default: the ``dead_letters`` table with an engine,
            else memory); each is also logged.
        progress: Called after every batch with the running stats.

    Returns:
        The counts; ``unpublished`` > 0 means the broker did not acknowledge everything (with an
        engine those rows stay in the outbox and go out with the next drain or crawl).

    Raises:
        SourceConfigError: the file cannot be read or its format is unknown.
    """
    stats = ReplayStats()
    bad: list[BadItem] = []
    sink = dead_letters or (SqlDeadLetters(engine) if engine is not None else MemoryDeadLetters())
    normalizer = Normalizer(tagger, detect_languages=detect_languages)
    entries = iter_file_items(path, source_id=source_id, fields=fields, fmt=fmt)
    articles = _articles(islice(entries, limit), normalizer, stats, bad, id_salt, retime)
    sender = Producer(bootstrap, client_id=CLIENT_ID)
    store = ArticleStore(engine) if engine is not None else None
    outbox = OutboxPublisher(engine, sender, topic, batch_size=batch_size) if engine is not None else None
    seen: set[str] = set()
    pacer = _Pacer(rate_per_s)
    chunk = _chunk(rate_per_s, batch_size)
    started = time.monotonic()
    try:
        while batch := list(islice(articles, chunk)):
            pacer.wait(stats.published + stats.unpublished + len(batch))
            if store is not None and outbox is not None:
                added = store.add(batch)
                stats.new += len(added.new)
                stats.duplicates += added.duplicates
                stats.published += outbox.publish_pending().published
            else:
                fresh = [a for a in batch if a.id not in seen and a.content_hash not in seen]
                stats.duplicates += len(batch) - len(fresh)
                seen.update(a.id for a in fresh)
                seen.update(a.content_hash for a in fresh)
                stats.new += len(fresh)
                _send(sender, topic, fresh, stats)
            if bad:
                _dead_letter(sink, bad, stats)
            stats.elapsed_s = time.monotonic() - started
            if progress is not None:
                progress(stats)
        if bad:
            _dead_letter(sink, bad, stats)
    finally:
        sender.close()
    if store is not None:
        stats.unpublished = max(0, stats.new - stats.published)  # still in the outbox
    stats.elapsed_s = time.monotonic() - started
    return stats


def _send(sender: Producer, topic: str, articles: Sequence[Article], stats: ReplayStats) -> None:
    now = datetime.now(UTC)
    acked = sender.send(topic, [(a.id.encode(), a.to_record(now).to_bytes()) for a in articles])
    stats.published += sum(acked)
    stats.unpublished += len(acked) - sum(acked)


def _dead_letter(sink: DeadLetterSink, bad: list[BadItem], stats: ReplayStats) -> None:
    for item in bad:
        log.warning("replay: bad row %s from %s: %s", item.key or "-", item.source_id, item.reason)
    sink.record(list(bad))
    stats.bad += len(bad)
    bad.clear()


def load_records(
    path: Path | str,
    *,
    source_id: str = "replay",
    fields: FieldMap | None = None,
    fmt: str = "auto",
    detect_languages: bool = False,
    id_salt: str | None = None,
    limit: int | None = None,
    tagger: EntityTagger | None = None,
) -> list[ArticleRecord]:
    """Normalise a corpus into ArticleRecords in memory (bad rows are logged and skipped)."""
    stats = ReplayStats()
    bad: list[BadItem] = []
    normalizer = Normalizer(tagger, detect_languages=detect_languages)
    entries = islice(iter_file_items(path, source_id=source_id, fields=fields, fmt=fmt), limit)
    now = datetime.now(UTC)
    records = [a.to_record(now) for a in _articles(entries, normalizer, stats, bad, id_salt, False)]
    for item in bad:
        log.warning("load_records: bad row %s: %s", item.key or "-", item.reason)
    return records


def publish_records(
    records: Sequence[ArticleRecord],
    *,
    bootstrap: str,
    topic: str,
    rate_per_s: float | None = None,
    batch_size: int = 500,
    stamp_emitted_at: bool = True,
) -> ReplayStats:
    """Publish prepared records keyed by id, paced to ``rate_per_s`` (None: flat out).

    Args:
        records: Records to send.
        bootstrap: Kafka bootstrap servers.
        topic: Target topic.
        rate_per_s: Messages per second at most.
        batch_size: Messages per send (smaller when paced).
        stamp_emitted_at: Set each record's ``emitted_at`` to its send time (latency
            measurements downstream start there).
    """
    stats = ReplayStats(read=len(records), new=len(records))
    sender = Producer(bootstrap, client_id=CLIENT_ID)
    pacer = _Pacer(rate_per_s)
    chunk = _chunk(rate_per_s, batch_size)
    started = time.monotonic()
    try:
        for start in range(0, len(records), chunk):
            batch = records[start : start + chunk]
            pacer.wait(start + len(batch))
            if stamp_emitted_at:
                now = datetime.now(UTC)
                batch = [r.model_copy(update={"emitted_at": now}) for r in batch]
            acked = sender.send(topic, [(r.id.encode(), r.to_bytes()) for r in batch])
            stats.published += sum(acked)
            stats.unpublished += len(acked) - sum(acked)
    finally:
        sender.close()
    stats.elapsed_s = time.monotonic() - started
    return stats
