"""Errors of the embedded runtime (PostgreSQL + broker lifecycle)."""

from __future__ import annotations

from finsent.core.errors import ConfigError, FinsentError

__all__ = ["DataDirError", "EmbeddedStartError", "RuntimeStackError", "StackNotRunningError"]


class RuntimeStackError(FinsentError):
    """Root of the embedded runtime's errors."""


class EmbeddedStartError(RuntimeStackError):
    """An embedded service did not start; the message ends with the tail of its log.

    Attributes:
        service: ``"postgres"`` or ``"kafka"``.
        log_tail: the last lines of the service's log (may be empty).
    """

    def __init__(self, service: str, reason: str, log_tail: str = "") -> None:
        self.service = service
        self.reason = reason
        self.log_tail = log_tail
        message = f"embedded {service} failed to start: {reason}"
        if log_tail.strip():
            indented = "\n".join("    " + line for line in log_tail.rstrip().splitlines())
            message += f"\n  last lines of its log:\n{indented}"
        super().__init__(message)


class StackNotRunningError(RuntimeStackError):
    """A command needs an embedded service that is not running (run `finsent up`)."""


class DataDirError(RuntimeStackError, ConfigError):
    """The data directory cannot be created or written (read-only, not a directory, no permission)."""
