"""Polite HTTP fetching: URL guard, robots.txt, per-host rate limit, conditional GET, retries,
timeouts and a body-size cap, around one shared ``httpx.Client``."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from finsent.core.sections import IngestSettings
from finsent.ingest.config import CrawlDefaults
from finsent.ingest.exceptions import BadItemError, BlockedURLError, BodyTooLargeError, FetchError
from finsent.ingest.fetch.ratelimit import HostRateLimiter
from finsent.ingest.fetch.robots import RobotsCache
from finsent.ingest.fetch.state import CrawlStateStore, MemoryCrawlState, UrlState
from finsent.ingest.urls import check_url_allowed

__all__ = ["FetchPolicy", "FetchResponse", "Fetcher"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchPolicy:
    """How politely and patiently to fetch (no defaults here: see :meth:`from_config`).

    Attributes:
        user_agent: User-Agent header (names finsent).
        timeout_s: Timeout of each request (connect, read, write, pool) and of reading a body.
        max_body_bytes: Largest (decoded) body read; larger ones are refused.
        allow_private: Allow loopback/private addresses.
        per_host_interval_s: Minimum seconds between requests to a host.
        retries: Attempts per request on 5xx, 429, timeouts and connection errors.
        backoff_base_s: First retry waits up to this long (exponential with full jitter).
        backoff_max_s: Longest wait between attempts.
        robots_ttl_s: How long a host's robots.txt is cached.
    """

    user_agent: str
    timeout_s: float
    max_body_bytes: int
    allow_private: bool
    per_host_interval_s: float
    retries: int
    backoff_base_s: float
    backoff_max_s: float
    robots_ttl_s: float

    @classmethod
    def from_config(cls, ingest: IngestSettings, crawl: CrawlDefaults) -> FetchPolicy:
        """The policy of the process settings (identity, limits) and the sources file (pacing).

        Args:
            ingest: ``settings.ingest``.
            crawl: the sources file's ``defaults:`` section.
        """
        return cls(
            user_agent=ingest.user_agent,
            timeout_s=ingest.http_timeout.total_seconds(),
            max_body_bytes=ingest.max_body_bytes,
            allow_private=ingest.allow_private_addresses,
            per_host_interval_s=crawl.per_host_interval_s,
            retries=crawl.retries,
            backoff_base_s=crawl.backoff_base_s,
            backoff_max_s=crawl.backoff_max_s,
            robots_ttl_s=crawl.robots_ttl_s,
        )

    @classmethod
    def default(cls) -> FetchPolicy:
        """The policy of default settings and an empty ``defaults:`` section."""
        return cls.from_config(IngestSettings(), CrawlDefaults())


@dataclass(frozen=True)
class FetchResponse:
    """A fetched response (``not_modified`` with an empty body for a 304)."""

    url: str
    status: int
    body: bytes
    content_type: str
    not_modified: bool = False
    elapsed_s: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    state: UrlState | None = None


class Fetcher:
    """Fetches URLs politely; safe to share between threads.

    Args:
        policy: Timeouts, limits, retries.
        state: Crawl-state store for ETag/Last-Modified (default: in memory).
        stop: Set on shutdown: rate-limit waits return at once.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        state: CrawlStateStore | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy.default()
        self.state: CrawlStateStore = state or MemoryCrawlState()
        self.limiter = HostRateLimiter(self.policy.per_host_interval_s, stop)
        self.client = httpx.Client(
            headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(self.policy.timeout_s),
            follow_redirects=True,
            max_redirects=5,
            event_hooks={"request": [self._guard_request]},
        )
        self.robots = RobotsCache(self.policy.user_agent, self._get_robots, ttl_s=self.policy.robots_ttl_s)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard_request(self, request: httpx.Request) -> None:
        # Runs for every request, redirects included, so a redirect cannot reach a private host.
        check_url_allowed(str(request.url), allow_private=self.policy.allow_private)

    def get(
        self,
        url: str,
        *,
        source_id: str,
        conditional: bool = True,
        timeout_s: float | None = None,
        headers: dict[str, str] | None = None,
        defer_state: bool = False,
    ) -> FetchResponse:
        """Fetch ``url`` after checking the URL guard and robots.txt, honouring the rate limit.

        Args:
            url: Absolute http(s) URL.
            source_id: The source asking (stored with the crawl state).
            conditional: Send If-None-Match/If-Modified-Since from the stored state.
            timeout_s: Overrides the policy's timeout for this request.
            headers: Extra request headers.
            defer_state: Do not store the new validators; return them in ``response.state`` for
                :meth:`commit` once the items are safely stored (a crash in between then costs
                a re-fetch, never a lost item).

        Returns:
            The response; ``not_modified`` is True for a 304.

        Raises:
            BlockedURLError: not http(s), or a private address while those are not allowed.
            RobotsDisallowedError: robots.txt forbids the URL.
            BodyTooLargeError: the body exceeds ``max_body_bytes``.
            BadItemError: a 4xx answer (other than 429).
            FetchError: timeouts, connection errors, 5xx/429 after all retries.
        """
        check_url_allowed(url, allow_private=self.policy.allow_private)
        crawl_delay = self.robots.check(url)
        previous = self.state.get(url) if conditional else None
        request_headers = dict(headers or {})
        if previous is not None and previous.etag:
            request_headers["If-None-Match"] = previous.etag
        if previous is not None and previous.last_modified:
            request_headers["If-Modified-Since"] = previous.last_modified
        try:
            response = self._with_retries(url, request_headers, timeout_s, crawl_delay)
        except (FetchError, BadItemError) as exc:
            self._remember_failure(url, source_id, previous, exc)
            raise
        state = self._success_state(url, source_id, previous, response)
        if defer_state:
            return replace(response, state=state)
        self.state.put(state)
        return response

    def commit(self, state: UrlState) -> None:
        """Store a URL state returned by ``get(..., defer_state=True)``."""
        self.state.put(state)

    def _with_retries(
        self, url: str, headers: dict[str, str], timeout_s: float | None, crawl_delay: float | None
    ) -> FetchResponse:
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.retries),
            wait=wait_random_exponential(
                multiplier=self.policy.backoff_base_s, max=self.policy.backoff_max_s
            ),
            retry=retry_if_exception_type(FetchError),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.limiter.wait(urlsplit(url).netloc.lower(), crawl_delay)
                return self._once(url, headers, timeout_s)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _once(self, url: str, headers: dict[str, str], timeout_s: float | None) -> FetchResponse:
        timeout = timeout_s or self.policy.timeout_s
        started = time.monotonic()
        try:
            with self.client.stream("GET", url, headers=headers, timeout=timeout) as response:
                status = response.status_code
                if status == 304:
                    return FetchResponse(str(response.url), status, b"", "", True, time.monotonic() - started)
                if status == 429 or status >= 500:
                    raise FetchError(f"HTTP {status} from {url}", status=status)
                if status >= 400:
                    raise BadItemError(f"HTTP {status} from {url}", status=status)
                body = self._read_capped(response, url, started + timeout)
                return FetchResponse(
                    url=str(response.url),
                    status=status,
                    body=body,
                    content_type=response.headers.get("content-type", ""),
                    elapsed_s=time.monotonic() - started,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
        except httpx.TimeoutException as exc:
            raise FetchError(f"timeout after {timeout:g}s fetching {url}: {type(exc).__name__}") from None
        except httpx.TooManyRedirects:
            raise BadItemError(f"too many redirects from {url}") from None
        except httpx.UnsupportedProtocol as exc:  # e.g. a redirect to file:// or ftp://
            raise BlockedURLError(f"refusing {url}: {exc}") from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise FetchError(f"cannot fetch {url}: {type(exc).__name__}: {exc}") from None

    def _read_capped(self, response: httpx.Response, url: str, deadline: float) -> bytes:
        limit = self.policy.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLargeError(f"{url}: body of {declared} bytes exceeds the {limit}-byte limit")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(f"{url}: body exceeds the {limit}-byte limit")
            if time.monotonic() > deadline:
                raise FetchError(f"{url}: body not read within the timeout")
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _success_state(
        url: str, source_id: str, previous: UrlState | None, response: FetchResponse
    ) -> UrlState:
        now = datetime.now(UTC)
        if response.not_modified and previous is not None:
            return replace(previous, last_fetch_at=now, last_status=304, failures=0)
        return UrlState(
            url=url,
            source_id=source_id,
            etag=response.etag,
            last_modified=response.last_modified,
            last_fetch_at=now,
            last_status=response.status,
        )

    def _remember_failure(
        self, url: str, source_id: str, previous: UrlState | None, error: FetchError | BadItemError
    ) -> None:
        base = previous or UrlState(url=url, source_id=source_id)
        status = error.status
        self.state.put(
            replace(base, last_fetch_at=datetime.now(UTC), last_status=status, failures=base.failures + 1)
        )

    def _get_robots(self, robots_url: str) -> tuple[int, bytes]:
        self.limiter.wait(urlsplit(robots_url).netloc.lower())
        try:
            with self.client.stream("GET", robots_url) as response:
                if response.status_code != 200:
                    return response.status_code, b""
                return 200, self._read_capped(response, robots_url, time.monotonic() + self.policy.timeout_s)
        except (httpx.TransportError, httpx.StreamError, httpx.TooManyRedirects) as exc:
            raise FetchError(f"robots.txt {robots_url}: {type(exc).__name__}") from None
        except BodyTooLargeError:
            return 200, b""
