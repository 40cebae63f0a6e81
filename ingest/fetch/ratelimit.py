"""A per-host rate limit shared by every crawler thread."""

from __future__ import annotations

import threading
import time

__all__ = ["HostRateLimiter"]


class HostRateLimiter:
    """Spaces requests to the same host at least ``min_interval_s`` apart (thread-safe).

    Each caller reserves the next free slot of its host under a lock and then sleeps outside
    it, so waiting for one host never delays requests to another.

    Args:
        min_interval_s: Minimum seconds between two requests to one host.
        stop: When set, waiting callers return at once (graceful shutdown).
    """

    def __init__(self, min_interval_s: float, stop: threading.Event | None = None) -> None:
        self.min_interval_s = min_interval_s
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = stop or threading.Event()

    def wait(self, host: str, min_interval_s: float | None = None) -> float:
        """Block until a request to ``host`` is allowed; returns the seconds waited."""
        interval = max(self.min_interval_s, min_interval_s or 0.0)
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + interval
        delay = slot - now
        if delay > 0:
            self._stop.wait(delay)
        return delay
