"""Shared CLI helpers: the consoles, shared sub-apps, the duration option type."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.console import Console

from finsent.core.durations import parse_duration

__all__ = ["as_duration", "bench_app", "console", "err_console"]

console = Console()
err_console = Console(stderr=True)

#: `finsent bench ...` -- benchmarks print figures; they are never tests.
bench_app = typer.Typer(help="Benchmarks (print tables, write JSON).", no_args_is_help=True)


def as_duration(text: str) -> timedelta:
    """Option parser for durations (``--batch-window 200ms``): finsent's one duration syntax.

    Raises:
        ValueError: not a duration (click reports it as a bad option value, exit 2).
    """
    return parse_duration(text)
