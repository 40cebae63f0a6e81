"""Shared CLI helpers: the console, settings loading with readable errors, shared sub-apps."""

from __future__ import annotations

import typer
from rich.console import Console

from finsent.core.errors import ConfigError
from finsent.core.settings import Settings

__all__ = ["bench_app", "console", "err_console", "load_settings"]

console = Console()
err_console = Console(stderr=True)

#: `finsent bench ...` -- benchmarks print figures; they are never tests.
bench_app = typer.Typer(help="Benchmarks (print tables, write JSON).", no_args_is_help=True)


def load_settings() -> Settings:
    """Read settings once for this command; exit 2 with the offending setting named."""
    try:
        return Settings.load()
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
