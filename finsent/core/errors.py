"""The root of finsent's exception tree, split by what the caller should do.

* :class:`BadDataError` -- the input is wrong; send it to a dead-letter topic/table with the
  reason and carry on with the rest.
* :class:`RetryableError` -- a peer (database, broker, HTTP host) is unavailable; wait and retry
  with backoff.
* anything else -- a bug; crash loudly and let the supervisor restart the process.
"""

from __future__ import annotations

__all__ = ["BadDataError", "ConfigError", "FinsentError", "RetryableError"]


class FinsentError(Exception):
    """Root of every exception finsent raises on purpose."""


class BadDataError(FinsentError):
    """Input that can never be processed as it is (dead-letter it, do not retry)."""


class RetryableError(FinsentError):
    """A transient failure of a peer; the same call may succeed later."""


class ConfigError(FinsentError):
    """Settings or configuration files are invalid; fail at start-up with the field named."""
