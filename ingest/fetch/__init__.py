"""Polite HTTP fetching for the crawlers."""

from finsent.ingest.fetch.client import Fetcher, FetchPolicy, FetchResponse
from finsent.ingest.fetch.ratelimit import HostRateLimiter
from finsent.ingest.fetch.robots import RobotsCache
from finsent.ingest.fetch.state import CrawlStateStore, MemoryCrawlState, SqlCrawlState, UrlState

__all__ = [
    "CrawlStateStore",
    "FetchPolicy",
    "FetchResponse",
    "Fetcher",
    "HostRateLimiter",
    "MemoryCrawlState",
    "RobotsCache",
    "SqlCrawlState",
    "UrlState",
]
