"""News sources behind one :class:`Source` protocol: RSS/Atom, HTML pages, JSON APIs, files, demo."""

from __future__ import annotations

from datetime import datetime

from finsent.ingest.config import (
    DemoSourceConfig,
    FeedSourceConfig,
    FileSourceConfig,
    HtmlSourceConfig,
    JsonApiSourceConfig,
    SourceConfig,
    SourcesFile,
)
from finsent.ingest.sources.base import PollContext, Source
from finsent.ingest.sources.demo import DemoSource
from finsent.ingest.sources.feed import FeedSource, parse_feed
from finsent.ingest.sources.file import FileSource, iter_file_items
from finsent.ingest.sources.html import HtmlSource, extract_article, extract_links
from finsent.ingest.sources.jsonapi import JsonApiSource, parse_json_items

__all__ = [
    "DemoSource",
    "FeedSource",
    "FileSource",
    "HtmlSource",
    "JsonApiSource",
    "PollContext",
    "Source",
    "build_source",
    "build_sources",
    "extract_article",
    "extract_links",
    "iter_file_items",
    "parse_feed",
    "parse_json_items",
]


def build_source(config: SourceConfig, interval_s: float, origin: datetime | None = None) -> Source:
    """The source object of one configured source."""
    if isinstance(config, FeedSourceConfig):
        return FeedSource(config, interval_s)
    if isinstance(config, HtmlSourceConfig):
        return HtmlSource(config, interval_s)
    if isinstance(config, JsonApiSourceConfig):
        return JsonApiSource(config, interval_s)
    if isinstance(config, FileSourceConfig):
        return FileSource(config, interval_s)
    if isinstance(config, DemoSourceConfig):
        return DemoSource(config, interval_s, origin)
    raise TypeError(f"unknown source config {type(config).__name__}")  # pragma: no cover


def build_sources(sources_file: SourcesFile, origin: datetime | None = None) -> list[Source]:
    """Source objects of every enabled source in a sources file."""
    return [build_source(c, sources_file.interval_of(c), origin) for c in sources_file.enabled()]
