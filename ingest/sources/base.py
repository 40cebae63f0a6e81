"""The ``Source`` protocol every kind of news source implements, and what a poll gets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from finsent.ingest.fetch import Fetcher, FetchResponse, UrlState
from finsent.ingest.items import PollResult

__all__ = ["PollContext", "Source"]


def _never_known(url: str) -> bool:
    return False


@dataclass
class PollContext:
    """What a source may use during one poll.

    Attributes:
        fetcher: The shared polite HTTP fetcher (use :meth:`fetch`).
        now: Time of the poll (UTC); items get it as their fetch time.
        is_known: True for a canonical URL already stored (skip fetching that page again).
        max_items: Items read from one response at most.
        pending_states: URL states to commit once this poll's items are stored.
    """

    fetcher: Fetcher
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    is_known: Callable[[str], bool] = _never_known
    max_items: int = 500
    pending_states: list[UrlState] = field(default_factory=list)

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
