"""Wiring: a crawler from a sources file, the settings, a database engine and a broker address.

Library code receives the engine and the bootstrap string; only the CLI finds them
(``finsent.runtime.resolve_urls``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from finsent.core.settings import Settings
from finsent.ingest.config import DemoSourceConfig, SourcesFile
from finsent.ingest.crawler import Crawler
from finsent.ingest.demo import DemoFeed
from finsent.ingest.entities import CompanyInfo, EntityTagger, TickerTable
from finsent.ingest.fetch import Fetcher, FetchPolicy, MemoryCrawlState, SqlCrawlState
from finsent.ingest.normalize import Normalizer
from finsent.ingest.publish import OutboxPublisher
from finsent.ingest.sources import build_sources
from finsent.ingest.store import ArticleStore, MemoryArticleStore, MemoryDeadLetters, SqlDeadLetters
from finsent.storage.sources_repo import upsert_sources

__all__ = [
    "build_crawler",
    "build_tagger",
    "imported_universe_path",
    "sync_sources_table",
    "universe_table",
    "universe_tagger",
]


def build_tagger(
    sources_file: SourcesFile,
    extra_ticker_files: list[str] | None = None,
    *,
    settings: Settings | None = None,
) -> EntityTagger:
    """The entity tagger: bundled universe + the imported one + the file's ``tickers_files``
    (+ demo companies if used); later files override earlier rows of the same ticker.

    Args:
        sources_file: The validated sources file.
        extra_ticker_files: More universe CSV files.
        settings: Where the imported universe is (``finsent entities import``) and the caps on
            entities and spans; None: bundled universe and default caps.

    Raises:
        SourceConfigError: a ticker file is missing or malformed.
    """
    files: list[Path | str] = [*sources_file.tickers_files, *(extra_ticker_files or [])]
    table = universe_table(settings, files)
    if any(isinstance(s, DemoSourceConfig) for s in sources_file.enabled()):
        # The demo's companies are fictional; some share a symbol with a real listing (ACMR is
        # also ACM Research). Where the demo runs its own company wins, or its stories would
        # carry only declared tickers (relevance 0.5, no spans, no entity-level score).
        demo = [CompanyInfo(c.ticker, c.name, (c.name,), c.exchange, False) for c in DemoFeed().companies]
        table = TickerTable([*table.companies.values(), *demo])
    if settings is None:
        return EntityTagger(table)
    return EntityTagger(
        table,
        max_entities=settings.ingest.max_entities_per_article,
        max_spans=settings.ingest.max_spans_per_entity,
    )


def universe_table(settings: Settings | None, extra_files: Sequence[Path | str] = ()) -> TickerTable:
    """The bundled universe, then the imported one (when ``settings`` and the file exist), then
    ``extra_files``; later rows win.

    Raises:
        SourceConfigError: a file is unreadable or malformed.
    """
    files: list[Path | str] = []
    if settings is not None and imported_universe_path(settings).is_file():
        files.append(imported_universe_path(settings))
    return TickerTable.from_csv([*files, *extra_files])


def universe_tagger(settings: Settings) -> EntityTagger:
    """A tagger over the bundled + imported universe with the settings' caps (replay, CLI)."""
    return EntityTagger(
        universe_table(settings),
        max_entities=settings.ingest.max_entities_per_article,
        max_spans=settings.ingest.max_spans_per_entity,
    )


def imported_universe_path(settings: Settings) -> Path:
    """Where ``finsent entities import`` keeps the user's universe (and crawlers read it)."""
    if settings.ingest.universe_file is not None:
        return settings.ingest.universe_file
    return settings.data_dir / "universe.csv"


def sync_sources_table(engine: Engine, sources_file: SourcesFile) -> None:
    """Upsert every configured source into the ``sources`` table (dashboards list them)."""
    rows = [
        {
            "id": s.id,
            "kind": s.kind,
            "url": getattr(s, "url", None) or getattr(s, "index_url", None),
            "name": s.name,
            "config": s.model_dump(mode="json"),
        }
        for s in sources_file.sources
    ]
    upsert_sources(engine, rows=rows)


def build_crawler(
    sources_file: SourcesFile,
    *,
    settings: Settings,
    engine: Engine | None,
    bootstrap: str | None,
    topic: str | None,
    stop: threading.Event | None = None,
    origin: datetime | None = None,
    detect_languages: bool = True,
) -> Crawler:
    """A crawler for every enabled source of ``sources_file``.

    Args:
        sources_file: The validated sources file.
        settings: User-Agent, timeouts, body limit, private-address policy.
        engine: Database engine (None: dry run -- state, dedup and dead letters in memory).
        bootstrap: Kafka bootstrap servers (None: store only, nothing published).
        topic: The raw-articles topic (``Topics(settings.kafka.topic_prefix).raw_articles``).
        stop: Shutdown event (rate-limit waits end early when it is set).
        origin: Time that demo event offsets count from.
        detect_languages: Run language detection.
    """
    defaults = sources_file.defaults
    policy = FetchPolicy.from_config(settings.ingest, defaults)
    fetcher = Fetcher(policy, SqlCrawlState(engine) if engine is not None else MemoryCrawlState(), stop)
    publisher = None
    if engine is not None and bootstrap and topic:
        publisher = OutboxPublisher(engine, bootstrap, topic)
    if engine is not None:
        sync_sources_table(engine, sources_file)
    return Crawler(
        build_sources(sources_file, origin),
        fetcher=fetcher,
        store=ArticleStore(engine) if engine is not None else MemoryArticleStore(),
        publisher=publisher,
        dead_letters=SqlDeadLetters(engine) if engine is not None else MemoryDeadLetters(),
        normalizer=Normalizer(
            build_tagger(sources_file, settings=settings), detect_languages=detect_languages
        ),
        max_workers=defaults.max_workers,
        max_items_per_poll=defaults.max_items_per_poll,
        failure_backoff_max_s=defaults.failure_backoff_max_s,
    )
