"""`finsent up`, `down`, `status` and `db ...`: the embedded services and the schema."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import timedelta

import typer

from finsent.cli.common import as_duration, console, err_console
from finsent.cli.context import current
from finsent.runtime import EmbeddedStack, EmbeddedStartError, StackStatus, provision

__all__ = ["register"]

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)

_LABEL = {"postgres": "PostgreSQL", "kafka": "Kafka broker"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
    app.add_typer(db_app, name="db")


def _quiet_clients() -> None:
    # kafka-python logs every connection at INFO; the CLI reports what matters itself.
    logging.getLogger("kafka").setLevel(logging.WARNING)


def _display_url(url: str | None) -> str:
    if not url:
        return "-"
    from finsent.storage.db import redact_url

    return redact_url(url)


def up(
    skip_provision: bool = typer.Option(
        False, "--no-provision", help="Only start services; skip migrations, topics and the model."
    ),
) -> None:
    """Start the embedded PostgreSQL and broker (unless external URLs are set), then provision them.

    Provisioning applies migrations, creates the Kafka topics and registers the default model.
    Harmless when everything already runs.
    """
    settings = current().settings
    _quiet_clients()
    stack = EmbeddedStack(settings)
    try:
        info = stack.start()
    except EmbeddedStartError:
        err_console.print(f"Nothing was left running. Data dir: {stack.data_dir}", highlight=False)
        raise
    for note in info.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for name, url in (("postgres", info.database_url), ("kafka", info.kafka_bootstrap)):
        external = settings.database_url if name == "postgres" else settings.kafka_bootstrap
        how = "started" if name in info.started else ("external" if external else "already running")
        console.print(f"{_LABEL[name]:<13} {_display_url(url)}  ({how})", highlight=False, soft_wrap=True)
    console.print(f"data dir      {info.data_dir}")
    if skip_provision:
        return
    try:
        for line in provision(settings, info.database_url, info.kafka_bootstrap):
            console.print(f"  {line}", highlight=False, soft_wrap=True)
    except Exception:
        err_console.print(
            "Provisioning failed; the services keep running: fix the cause, run `finsent up` again."
        )
        raise
    console.print("[green]ready[/green]")


def down(
    timeout: timedelta = typer.Option(
        "15s", parser=as_duration, metavar="DURATION", help="How long to wait before SIGKILL."
    ),
) -> None:
    """Stop the embedded services cleanly (SIGTERM/fast shutdown, SIGKILL after the timeout)."""
    results = EmbeddedStack(current().settings).stop(timeout_s=timeout.total_seconds())
    if not results:
        console.print("nothing was running")
    for name, outcome in results.items():
        console.print(f"{_LABEL.get(name, name):<13} {outcome}")


def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show what runs where and whether it answers; exit code 1 unless everything is healthy."""
    settings = current().settings
    _quiet_clients()
    report = EmbeddedStack(settings).status()
    if as_json:
        data = {
            "healthy": report.healthy,
            "data_dir": str(settings.data_dir.resolve()),
            "services": [asdict(s) | {"url": _display_url(s.url)} for s in report.services],
        }
        console.print_json(json.dumps(data))
    else:
        _print_status(report)
    if not report.healthy:
        raise typer.Exit(1)


def _print_status(report: StackStatus) -> None:
    # One line per service (no table): nothing gets truncated and the output greps well.
    for s in report.services:
        state = "healthy" if s.healthy else ("running, not answering" if s.running else "not running")
        colour = "green" if s.healthy else "red"
        details = f"  pid {s.pid}" if s.pid else ""
        details += f"  log {s.log}" if s.log else ""
        console.print(
            f"{_LABEL.get(s.name, s.name):<13} {s.mode:<9} [{colour}]{state}[/{colour}]  "
            f"{_display_url(s.url)}{details}",
            highlight=False,
            soft_wrap=True,
        )
    if not report.healthy:
        console.print("run `finsent up` to start the embedded services")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from finsent.storage.db import current_revision, upgrade

    url = current().database_url
    upgrade(url, revision)
    console.print(f"schema at revision {current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., help="Target revision ('base' drops every table)."),
) -> None:
    """Revert migrations down to REVISION."""
    from finsent.storage.db import current_revision, downgrade

    url = current().database_url
    downgrade(url, revision)
    console.print(f"schema at revision {current_revision(url) or 'base (empty)'}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database and the newest one shipped."""
    from finsent.storage.db import current_revision, head_revision

    url = current().database_url
    console.print(f"database: {current_revision(url) or 'base (empty)'}; newest: {head_revision()}")
