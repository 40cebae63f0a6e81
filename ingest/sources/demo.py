"""The ``demo`` source: synthetic headlines from :class:`~ingest.demo.DemoFeed`, no network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from finsent.ingest.config import DemoSourceConfig
from finsent.ingest.demo import DemoFeed, PlantedEvent
from finsent.ingest.items import PollResult
from finsent.ingest.sources.base import PollContext

__all__ = ["DemoSource"]


class DemoSource:
    """Each poll returns the demo items published since the previous poll.

    Args:
        config: The source's settings (seed, rate, planted events).
        interval_s: Poll interval; the first poll returns the items of the last interval.
        origin: Time that event offsets such as ``+10m`` count from (default: now).
    """

    kind = "demo"

    def __init__(self, config: DemoSourceConfig, interval_s: float, origin: datetime | None = None) -> None:
        self.config = config
        self.id = config.id
        self.interval_s = interval_s
        origin = origin or datetime.now(UTC)
        self.feed = DemoFeed(
            seed=config.seed,
            rate_per_min=config.rate_per_min,
            events=[
                PlantedEvent(
                    e.ticker, e.start_at(origin), timedelta(seconds=e.duration_s), e.tone, e.rate_per_min
                )
                for e in config.events
            ],
        )
        self._cursor: datetime | None = None

    def poll(self, ctx: PollContext) -> PollResult:
        """Items published in ``[previous poll, now)``."""
        start = self._cursor or ctx.now - timedelta(seconds=self.interval_s)
        items = self.feed.items_between(start, ctx.now)
        self._cursor = ctx.now
        declared = tuple(self.config.tickers)
        raw = [item.to_raw(self.id, ctx.now) for item in items]
        if declared:
            raw = [replace(r, tickers=r.tickers + declared) for r in raw]
        # Every item is returned (no max_items cut): the feed moves on and would never repeat them.
        return PollResult(items=raw)
