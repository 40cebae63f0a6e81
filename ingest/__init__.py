"""Ingest stage: polite crawlers that publish normalised, de-duplicated, entity-tagged news.

Sources (RSS/Atom, HTML pages, JSON APIs, CSV/JSONL files, a synthetic demo feed) are declared
in a YAML sources file. Items are normalised, de-duplicated and clustered into stories, tagged
with tickers, stored in the ``articles`` table (the outbox) and published to Kafka.

Public entry points:

* :func:`load_sources` / :func:`build_crawler` / :class:`Crawler` -- ``finsent crawl``.
* :func:`replay`, :func:`load_records`, :func:`publish_records` -- ``finsent replay`` and load tests.
* :class:`DemoFeed`, :class:`PlantedEvent` -- synthetic news with plantable bursts.
"""

from finsent.ingest.app import build_crawler, build_tagger, sync_sources_table
from finsent.ingest.config import SourcesFile, load_sources, parse_sources
from finsent.ingest.crawler import Crawler, CrawlReport, SourceSummary
from finsent.ingest.demo import DemoCompany, DemoFeed, DemoItem, PlantedEvent, write_corpus
from finsent.ingest.entities import EntityTagger, TickerTable, default_ticker_table
from finsent.ingest.exceptions import (
    BadItemError,
    BlockedURLError,
    BodyTooLargeError,
    FetchError,
    RobotsDisallowedError,
    SourceConfigError,
)
from finsent.ingest.fetch import Fetcher, FetchPolicy
from finsent.ingest.items import Article, BadItem, PollResult, RawItem
from finsent.ingest.normalize import Normalizer
from finsent.ingest.publish import OutboxPublisher, PublishStats
from finsent.ingest.replay import ReplayStats, load_records, publish_records, replay
from finsent.ingest.scheduler import run_scheduled
from finsent.ingest.sources import PollContext, Source
from finsent.ingest.store import ArticleStore, MemoryArticleStore
from finsent.ingest.urls import canonical_url

__all__ = [
    "Article",
    "ArticleStore",
    "BadItem",
    "BadItemError",
    "BlockedURLError",
    "BodyTooLargeError",
    "CrawlReport",
    "Crawler",
    "DemoCompany",
    "DemoFeed",
    "DemoItem",
    "EntityTagger",
    "FetchError",
    "FetchPolicy",
    "Fetcher",
    "MemoryArticleStore",
    "Normalizer",
    "OutboxPublisher",
    "PlantedEvent",
    "PollContext",
    "PollResult",
    "PublishStats",
    "RawItem",
    "ReplayStats",
    "RobotsDisallowedError",
    "Source",
    "SourceConfigError",
    "SourceSummary",
    "SourcesFile",
    "TickerTable",
    "build_crawler",
    "build_tagger",
    "canonical_url",
    "default_ticker_table",
    "load_records",
    "load_sources",
    "parse_sources",
    "publish_records",
    "replay",
    "run_scheduled",
    "sync_sources_table",
    "write_corpus",
]
