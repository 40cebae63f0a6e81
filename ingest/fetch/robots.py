"""robots.txt, fetched once per host and cached, checked before every request."""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from finsent.ingest.exceptions import FetchError, RobotsDisallowedError

__all__ = ["RobotsCache", "RobotsRules"]

_MAX_ROBOTS_BYTES = 512_000


@dataclass(frozen=True)
class RobotsRules:
    """The parsed robots.txt of one host (``parser`` None = everything allowed)."""

    parser: urllib.robotparser.RobotFileParser | None
    expires: float
    unavailable: bool = False

    def allows(self, user_agent: str, url: str) -> bool:
        """True when ``user_agent`` may fetch ``url``."""
        return self.parser is None or self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        """The Crawl-delay the host asks of ``user_agent``, if any."""
        if self.parser is None:
            return None
        try:
            delay = self.parser.crawl_delay(user_agent)
        except (TypeError, ValueError):
            return None
        return float(delay) if delay is not None else None


#: Fetches ``url`` and returns (status, body); raises FetchError on network failure.
RobotsGetter = Callable[[str], tuple[int, bytes]]


class RobotsCache:
    """Per-host robots.txt rules.

    Missing robots.txt (any 4xx) allows everything; a 5xx or network failure disallows the
    host for ``retry_s`` (RFC 9309: an unreachable robots.txt means "assume full disallow").

    Args:
        user_agent: finsent's User-Agent.
        getter: Fetches a robots.txt URL (the crawler's own HTTP client, without robots checks).
        ttl_s: How long rules are cached.
        retry_s: How long an unreachable robots.txt blocks the host before it is tried again.
    """

    def __init__(self, user_agent: str, getter: RobotsGetter, ttl_s: float = 3600.0, retry_s: float = 60.0):
        self.user_agent = user_agent
        self._getter = getter
        self.ttl_s = ttl_s
        self.retry_s = retry_s
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def rules_for(self, url: str) -> RobotsRules:
        """The rules of ``url``'s host, fetched if not cached."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch per host even when many threads ask at once
            rules = self._rules.get(origin)
            if rules is None or rules.expires < time.monotonic():
                rules = self._fetch(origin)
                self._rules[origin] = rules
            return rules

    def check(self, url: str) -> float | None:
        """Raise if ``url`` may not be fetched; return the host's Crawl-delay, if any.

        Raises:
            RobotsDisallowedError: robots.txt disallows the URL.
            FetchError: robots.txt could not be fetched (try again later).
        """
        rules = self.rules_for(url)
        if rules.unavailable:
            raise FetchError(f"robots.txt of {url!r} is unavailable; not fetching until it answers")
        if not rules.allows(self.user_agent, url):
            raise RobotsDisallowedError(f"robots.txt disallows {url!r} for {self.user_agent!r}")
        return rules.crawl_delay(self.user_agent)

    def _fetch(self, origin: str) -> RobotsRules:
        now = time.monotonic()
        try:
            status, body = self._getter(origin + "/robots.txt")
        except FetchError:
            return RobotsRules(None, now + self.retry_s, unavailable=True)
        if status >= 500:
            return RobotsRules(None, now + self.retry_s, unavailable=True)
        if status >= 400 or status < 200:
            return RobotsRules(None, now + self.ttl_s)
        parser = urllib.robotparser.RobotFileParser()
        text = body[:_MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        parser.parse(text.splitlines())
        parser.modified()  # can_fetch() refuses everything until it believes the file was read
        return RobotsRules(parser, now + self.ttl_s)
