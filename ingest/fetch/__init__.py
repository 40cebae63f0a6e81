"""Polite HTTP fetching for the crawlers."""

from ingest.fetch.client import Fetcher, FetchPolicy, FetchResponse
from ingest.fetch.ratelimit import HostRateLimiter
from ingest.fetch.robots import RobotsCache
from ingest.fetch.state import CrawlStateStore, MemoryCrawlState, SqlCrawlState, UrlState

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
