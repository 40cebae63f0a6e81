"""Errors of the stream stage, split by what the caller should do."""

from __future__ import annotations

from finsent.core.errors import ConfigError, FinsentError, RetryableError

__all__ = ["KafkaUnavailableError", "ModelBrokenError", "ModelUnavailableError", "StreamError"]


class StreamError(FinsentError):
    """Root of the errors raised by :mod:`stream`."""


class ModelUnavailableError(StreamError, ConfigError):
    """No production model is registered and none could be registered (fail at start-up)."""


class ModelBrokenError(StreamError):
    """The model fails even on a known-good text: crash, so nothing is dead-lettered wrongly.

    Raised instead of dead-lettering records one by one when the fault is the model's, not the
    data's; the batch stays unacknowledged and is re-delivered after the restart.
    """


class KafkaUnavailableError(StreamError, RetryableError):
    """No broker could be reached (or none answered in time): nothing was sent; retry later."""
