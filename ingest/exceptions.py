"""Exceptions of the ingest stage, split by what the caller should do.

* :class:`SourceConfigError` -- the sources file is invalid (a :class:`~finsent.core.errors.ConfigError`):
  fail at start-up naming the bad field.
* :class:`BadItemError` and its subclasses -- one item or one response can never be processed as
  it is (a :class:`~finsent.core.errors.BadDataError`): count it, log it, dead-letter it, carry on.
* :class:`FetchError` -- a peer is unavailable or slow (a :class:`~finsent.core.errors.RetryableError`):
  retried with backoff now, and the source is polled again later.

A broker that is away raises :class:`finsent.stream.kafka.KafkaUnavailableError` (retryable):
the articles stay in the outbox.
"""

from __future__ import annotations

from finsent.core.errors import BadDataError, ConfigError, RetryableError

__all__ = [
    "BadItemError",
    "BlockedURLError",
    "BodyTooLargeError",
    "FetchError",
    "RobotsDisallowedError",
    "SourceConfigError",
    "UniverseFileError",
]


class SourceConfigError(ConfigError):
    """The sources YAML file (or the ticker table it names) is invalid."""


class BadItemError(BadDataError):
    """An item or response that cannot be turned into an article (dead-letter it).

    Args:
        message: What is wrong.
        status: The HTTP status, when an answer caused it.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BlockedURLError(BadItemError):
    """A URL that finsent refuses to fetch: not http(s), or a private/loopback address."""


class RobotsDisallowedError(BadItemError):
    """robots.txt of the host disallows the URL for finsent's User-Agent."""


class BodyTooLargeError(BadItemError):
    """The response body is larger than the configured maximum."""


class FetchError(RetryableError):
    """A timeout, connection error or 5xx answer; the same request may succeed later.

    Args:
        message: What failed.
        status: The HTTP status, when the peer answered.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UniverseFileError(BadDataError):
    """A company universe CSV given to ``finsent entities import`` has bad rows (each one named)."""
