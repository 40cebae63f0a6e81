"""The `finsent` command: one Typer app, one module per command group."""

from __future__ import annotations

import json
from typing import Any

import typer

from finsent.cli import (
    alerts_cmd,
    api_cmd,
    dashboards_cmd,
    entities_cmd,
    ingest_cmd,
    models_cmd,
    retrain_cmd,
    run_cmd,
    runtime_cmd,
    sink_bench_cmd,
    stream_cmd,
)
from finsent.cli.common import bench_app, console
from finsent.cli.context import current
from finsent.cli.errors import FinsentGroup
from finsent.core.settings import mask_secrets

__all__ = ["app", "main"]

app = typer.Typer(
    cls=FinsentGroup,
    help="finsent: real-time financial news sentiment monitor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(bench_app, name="bench")


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings (secrets masked), one `section.field = value` per line."""
    data = mask_secrets(current().settings)
    if as_json:
        console.print_json(json.dumps(data, default=str))
        return
    for key, value in _flatten(data):
        console.print(f"[bold]{key}[/bold] = {value!r}", highlight=False)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


for _module in (
    run_cmd,
    runtime_cmd,
    models_cmd,
    ingest_cmd,
    entities_cmd,
    stream_cmd,
    sink_bench_cmd,
    alerts_cmd,
    api_cmd,
    dashboards_cmd,
    retrain_cmd,
):
    _module.register(app)


def main() -> None:
    """Console-script entry point; exceptions map to exit codes in :mod:`finsent.cli.errors`."""
    app()
