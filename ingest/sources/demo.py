"""The ``demo`` source: synthetic headlines from :class:`~ingest.demo.DemoFeed`, no network."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from finsent.ingest.config import DemoSourceConfig
from finsent.ingest.demo import DemoFeed, PlantedEvent
from finsent.ingest.fetch import CrawlStateStore, UrlState
from finsent.ingest.items import PollResult
from finsent.ingest.sources.base import PollContext

__all__ = ["DemoSource"]

log = logging.getLogger(__name__)

#: A restarted crawler catches up at most this far back (the feed is synthetic: older is noise).
MAX_CATCH_UP = timedelta(hours=1)


class DemoSource:
    """Each poll returns the demo items published since the previous poll.

    The cursor is kept in the crawl state (``demo://<id>``), so a crawler that was killed and
    restarted also fetches what the feed published while it was down (up to :data:`MAX_CATCH_UP`).

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
        """Items published in ``[cursor, now)``; the cursor moves once they are stored.

        A poll whose store fails (PostgreSQL down) leaves the cursor where it was, so the next
        poll returns those items again (stored ones are duplicates, skipped by the store).
        """
        if self._cursor is None:  # first poll: where the last run stopped, else one interval back
            self._cursor = self._saved_cursor(ctx.fetcher.state, ctx.now)
        start = self._cursor
        items = self.feed.items_between(start, ctx.now)
        ctx.on_stored.append(lambda: self._advance(ctx.now, ctx.fetcher.state))
        declared = tuple(self.config.tickers)
        raw = [item.to_raw(self.id, ctx.now) for item in items]
        if declared:
            raw = [replace(r, tickers=r.tickers + declared) for r in raw]
        # Every item is returned (no max_items cut): the feed moves on and would never repeat them.
        return PollResult(items=raw)

    @property
    def _state_key(self) -> str:
        return f"demo://{self.id}"

    def _saved_cursor(self, store: CrawlStateStore, now: datetime) -> datetime:
        fallback = now - timedelta(seconds=self.interval_s)
        try:
            saved = store.get(self._state_key)
        except Exception:  # PostgreSQL down at the first poll: this poll's store fails anyway
            log.debug("demo source %s: cursor not readable", self.id, exc_info=True)
            return fallback
        if saved is None or saved.last_fetch_at is None:
            return fallback
        return min(fallback, max(saved.last_fetch_at, now - MAX_CATCH_UP))

    def _advance(self, to: datetime, store: CrawlStateStore) -> None:
        if self._cursor is not None and to <= self._cursor:
            return
        self._cursor = to
        try:
            store.put(UrlState(url=self._state_key, source_id=self.id, last_fetch_at=to))
        except Exception:  # kept in memory; a restart before the next save re-reads a few items
            log.warning("demo source %s: cursor not saved", self.id, exc_info=True)
