"""The one map from exceptions to exit codes, applied to every `finsent` command.

======================================================  ====  ==================================
exception                                               code  meaning (sysexits.h)
======================================================  ====  ==================================
:class:`~finsent.core.errors.ConfigError`               2     settings, options or a config file
:class:`~finsent.core.errors.BadDataError`              65    EX_DATAERR: the input data is wrong
:class:`~finsent.core.errors.RetryableError`, a peer    69    EX_UNAVAILABLE: try again later
that does not answer (embedded service not running,
SQLAlchemy ``OperationalError``/``InterfaceError``,
Kafka client errors, ``httpx.TransportError``)
any other :class:`~finsent.core.errors.FinsentError`,   1     the command failed
any other SQLAlchemy error
======================================================  ====  ==================================

Each prints one ``error: ...`` line on stderr and no traceback. Anything else is a bug: it
crashes with its traceback. Commands raise typed errors and never choose exit codes for errors
themselves; ``typer.Exit(1)`` remains for verdicts ("the check found problems", "unhealthy").
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from finsent.core.errors import BadDataError, ConfigError, FinsentError, RetryableError

__all__ = ["EX_CONFIG", "EX_DATAERR", "EX_FAILED", "EX_UNAVAILABLE", "FinsentGroup", "exit_code"]

EX_FAILED = 1
EX_CONFIG = 2
EX_DATAERR = 65
EX_UNAVAILABLE = 69

#: Exception classes of peers' client libraries, by module, looked up only when that library is
#: already imported (so the map costs `finsent --help` no import).
_PEER_ERRORS = (
    ("sqlalchemy.exc", ("OperationalError", "InterfaceError", "TimeoutError"), "database unavailable"),
    ("kafka.errors", ("KafkaError",), "broker"),
    ("aiokafka.errors", ("KafkaError",), "broker"),
    ("httpx", ("TransportError",), "HTTP peer unavailable"),
)


def _peer_error(exc: BaseException) -> str | None:
    for module_name, class_names, label in _PEER_ERRORS:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        classes = tuple(getattr(module, name) for name in class_names if hasattr(module, name))
        if classes and isinstance(exc, classes):
            return label
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def exit_code(exc: BaseException) -> tuple[int, str] | None:
    """``(exit code, message)`` for an exception the CLI reports cleanly; None for a bug."""
    from finsent.runtime.exceptions import StackNotRunningError

    if isinstance(exc, ConfigError):
        return EX_CONFIG, str(exc)
    if isinstance(exc, BadDataError):
        return EX_DATAERR, str(exc)
    if isinstance(exc, RetryableError | StackNotRunningError):
        return EX_UNAVAILABLE, str(exc)
    if isinstance(exc, FinsentError):
        return EX_FAILED, str(exc)
    label = _peer_error(exc)
    if label is not None:
        return EX_UNAVAILABLE, f"{label}: {type(exc).__name__}: {_first_line(exc)}"
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.SQLAlchemyError):
        return EX_FAILED, f"database error: {type(exc).__name__}: {_first_line(exc)}"
    return None


def report(message: str) -> None:
    """Print one ``error: ...`` line on stderr (no markup is read from the message)."""
    from finsent.cli.common import err_console

    err_console.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)


class FinsentGroup(TyperGroup):
    """The root command group: runs each command in its :func:`~finsent.cli.context.command_context`
    and maps what it raises through :func:`exit_code`."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a mapped exception prints one line and exits with its code."""
        from finsent.cli.context import command_context

        try:
            with command_context():
                return super().invoke(ctx)
        except Exception as exc:
            mapped = exit_code(exc)
            if mapped is None:  # typer's own exits and usage errors, and bugs (with their traceback)
                raise
            report(mapped[1])
            raise typer.Exit(mapped[0]) from None
