"""Exceptions of the alerts stage, split by what the caller should do."""

from __future__ import annotations

from finsent.errors import BadDataError, ConfigError, FinsentError, RetryableError

__all__ = [
    "AlertNotFoundError",
    "AlertsError",
    "DeliveryError",
    "RuleFileError",
    "SignatureError",
]


class AlertsError(FinsentError):
    """Root of the alerts stage's own exceptions."""


class RuleFileError(AlertsError, ConfigError):
    """A rule file is invalid; the message names the rule and the field (the whole file is rejected)."""


class AlertNotFoundError(AlertsError, BadDataError):
    """No alert has the given id (e.g. `finsent alerts ack 999`)."""


class DeliveryError(AlertsError, RetryableError):
    """One webhook attempt failed (network error, timeout or non-2xx answer); it will be retried."""


class SignatureError(AlertsError, BadDataError):
    """A webhook signature header is malformed (a wrong signature is reported as ``False``)."""
