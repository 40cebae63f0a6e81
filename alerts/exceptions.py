"""Exceptions of the alerts stage.

Webhook failures are not exceptions to callers: each attempt's outcome is recorded in
``webhook_attempts`` and the delivery retried or marked failed. A wrong webhook signature is
``False`` from :func:`alerts.signing.verify_signature`.
"""

from __future__ import annotations

from finsent.core.errors import ConfigError, FinsentError

__all__ = ["AlertsError", "RuleFileError"]


class AlertsError(FinsentError):
    """Root of the alerts stage's own exceptions."""


class RuleFileError(AlertsError, ConfigError):
    """A rule file is invalid; the message names the rule and the field (the whole file is rejected)."""
