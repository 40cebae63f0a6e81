"""The ``Source`` protocol every kind of news source implements, and what a poll gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from finsent.ingest.fetch import Fetcher, FetchResponse, UrlState
from finsent.ingest.items import PollResult, RawItem

__all__ = ["PollContext", "Source"]


def _never_known(url: str) -> bool:
    return False


def _keep_first(items: list[RawItem], limit: int) -> tuple[list[RawItem], int]:
    return items[:limit], max(0, len(items) - limit)


@dataclass
class PollContext:
    """What a source may use during one poll.

    Attributes:
        fetcher: The shared polite HTTP fetcher (use :meth:`fetch`).
        now: Time of the poll (UTC); items get it as their fetch time.
        is_known: True for a canonical URL already stored (skip fetching that page again).
        max_items: New items taken from one poll at most; the rest wait for the next polls.
        pending_states: URL states to commit once this poll's items are stored.
        on_stored: Callbacks run once this poll's items are stored (a source moves its cursor
            there, never in ``poll``: a failed store must leave the items to the next poll).
    """

    fetcher: Fetcher
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    is_known: Callable[[str], bool] = _never_known
    max_items: int = 500
    pending_states: list[UrlState] = field(default_factory=list)
    on_stored: list[Callable[[], None]] = field(default_factory=list)
    #: Keeps the items not stored yet, at most ``max_items`` of them, and says how many new ones
    #: were left for the next polls (the crawler's de-duplicating store answers).
    select_new: Callable[[list[RawItem], int], tuple[list[RawItem], int]] = _keep_first

    def fetch(
        self,
        url: str,
        *,
        source_id: str,
        conditional: bool = True,
        timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> FetchResponse:
        """Fetch through the shared fetcher; new ETag/Last-Modified are kept in
        ``pending_states`` until the crawler has stored the items (then it commits them)."""
        response = self.fetcher.get(
            url,
            source_id=source_id,
            conditional=conditional,
            timeout_s=timeout_s,
            headers=headers,
            defer_state=True,
        )
        if response.state is not None:
            self.pending_states.append(response.state)
        return response


@runtime_checkable
class Source(Protocol):
    """A news source: polled on an interval, returns raw items and the bad ones it met.

    A poll never raises for bad data (it returns it in ``PollResult.bad``); it raises
    :class:`~ingest.exceptions.FetchError` when its peer is unavailable (retry later).
    """

    id: str
    kind: str
    interval_s: float

    def poll(self, ctx: PollContext) -> PollResult:
        """Fetch what is new since the last poll."""
        ...
