"""The `finsent` command: one Typer app, one module per command group."""

from __future__ import annotations

import json

import typer

from finsent.cli import (
    alerts_cmd,
    api_cmd,
    dashboards_cmd,
    ingest_cmd,
    models_cmd,
    retrain_cmd,
    run_cmd,
    runtime_cmd,
    stream_cmd,
)
from finsent.cli.common import bench_app, console, load_settings
from finsent.core.settings import mask_secrets

__all__ = ["app", "main"]

app = typer.Typer(
    help="finsent: real-time financial news sentiment monitor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(bench_app, name="bench")


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings (secrets masked)."""
    settings = load_settings()
    data = mask_secrets(settings)
    if as_json:
        console.print_json(json.dumps(data, default=str))
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/bold] = {value!r}")


for _module in (
    run_cmd,
    runtime_cmd,
    models_cmd,
    ingest_cmd,
    stream_cmd,
    alerts_cmd,
    api_cmd,
    dashboards_cmd,
    retrain_cmd,
):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
