"""`finsent up`, `down`, `status` and `db ...`: the embedded services and the schema."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from finsent.cli.common import as_duration, bench_app, console, err_console
from finsent.cli.context import current
from finsent.runtime import EmbeddedStack, EmbeddedStartError, StackStatus, provision

if TYPE_CHECKING:
    from finsent.runtime.recovery import ReconcileStatus

__all__ = ["register"]

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)

_LABEL = {"postgres": "PostgreSQL", "kafka": "Kafka broker"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("status")(status)
    app.command("reconcile")(reconcile)
    bench_app.command("soak")(bench_soak)
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
    before_start = datetime.now(UTC)
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
    if "kafka" in info.started:
        _reconcile_after_broker_start(info.database_url, info.kafka_bootstrap, before_start)
    console.print("[green]ready[/green]")


def _reconcile_after_broker_start(database_url: str, bootstrap: str, started_at: datetime) -> None:
    # A broker started just now holds nothing: whatever was emitted before and has no score
    # is lost from the stream, so it goes out again now instead of after the grace period.
    from finsent.runtime.recovery import reconcile_pass

    try:
        line = reconcile_pass(
            current().settings, database_url, bootstrap, reason="broker_restart", emitted_before=started_at
        )
    except Exception as exc:  # the crawler's scheduled passes catch up; say so, do not fail `up`
        err_console.print(f"[yellow]warning:[/yellow] reconciliation after the broker start failed: {exc}")
        return
    console.print(f"  {line}", highlight=False, soft_wrap=True)


def reconcile(
    grace: timedelta | None = typer.Option(
        None,
        parser=as_duration,
        metavar="DURATION",
        help="Send again what was emitted longer ago than this without a score "
        "(default: ingest.reconcile_grace).",
    ),
) -> None:
    """One reconciliation pass now: emitted articles without a score are sent again (bounded)."""
    app = current()
    from finsent.runtime.recovery import reconcile_pass

    line = reconcile_pass(app.settings, app.database_url, app.kafka_bootstrap, reason="manual", grace=grace)
    console.print(line, highlight=False, soft_wrap=True)


def down(
    timeout: timedelta = typer.Option(
        "15s", parser=as_duration, metavar="DURATION", help="How long to wait before SIGKILL."
    ),
) -> None:
    """Stop the embedded services cleanly (SIGTERM/fast shutdown, SIGKILL after the timeout)."""
    stack = EmbeddedStack(current().settings)
    _print_state_problem(stack)
    results = stack.stop(timeout_s=timeout.total_seconds())
    if not results:
        console.print("nothing was running")
    for name, outcome in results.items():
        console.print(f"{_LABEL.get(name, name):<13} {outcome}")


def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show what runs where and whether it answers; exit code 1 unless everything is healthy."""
    settings = current().settings
    _quiet_clients()
    report = EmbeddedStack(settings).status()
    recon = _reconcile_status(report)
    if as_json:
        data = {
            "healthy": report.healthy,
            "data_dir": str(settings.data_dir.resolve()),
            "services": [asdict(s) | {"url": _display_url(s.url)} for s in report.services],
            "state_problem": report.problem,
            "reconcile": None if recon is None else asdict(recon) | {"last_at": _iso(recon.last_at)},
        }
        console.print_json(json.dumps(data))
    else:
        if report.problem:
            console.print(f"[yellow]note:[/yellow] {report.problem}", highlight=False, soft_wrap=True)
        _print_status(report)
        if recon is not None:
            console.print(f"{'reconcile':<13} {recon.line()}", highlight=False, soft_wrap=True)
    if not report.healthy:
        raise typer.Exit(1)


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def _print_state_problem(stack: EmbeddedStack) -> None:
    from finsent.runtime.state import StackState

    problem = StackState.read(stack.data_dir).problem
    if problem:
        console.print(f"[yellow]note:[/yellow] {problem}", highlight=False, soft_wrap=True)


def _reconcile_status(report: StackStatus) -> ReconcileStatus | None:
    pg = next((s for s in report.services if s.name == "postgres"), None)
    if pg is None or not pg.healthy or not pg.url:
        return None
    from finsent.runtime.recovery import reconcile_status

    try:
        return reconcile_status(current().settings, pg.url)
    except Exception:  # schema not migrated yet, or PostgreSQL went away meanwhile: no line
        return None


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


def bench_soak(
    minutes: float = typer.Option(10.0, "--minutes", min=1.0, help="Length of the fault period."),
    faults: int = typer.Option(20, "--faults", min=5, help="Faults injected (all five kinds)."),
    seed: int = typer.Option(1, "--seed", help="Seeds fault times and kinds, and the demo feed."),
    rate: float = typer.Option(120.0, "--demo-rate", min=1.0, help="Demo items per minute."),
    grace: timedelta = typer.Option(
        "60s", parser=as_duration, metavar="DURATION", help="Reconciliation grace during the soak."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Fresh data dir (default: a temp dir)."),
    out: Path | None = typer.Option(None, "--out", help="JSON result (default: DATA_DIR/soak.json)."),
) -> None:
    """Fault soak: the embedded stack with the demo feed under seeded random kills and restarts.

    Worker, crawler and alerts service are SIGKILLed (and restarted), PostgreSQL is SIGKILLed and
    the broker stopped (memory lost), each brought back with `finsent up`; then the stack is left
    to settle and checked: one score per article, aggregates = recount, no duplicated alert
    episode, every webhook delivery attempted. Exit 1 when a check fails.
    """
    import tempfile

    from finsent.cli.bench_loader import load_benchmark

    soak = load_benchmark("soak")
    where = data_dir or Path(tempfile.mkdtemp(prefix="finsent-soak-"))
    config = soak.SoakConfig(minutes, faults, seed, rate, where, grace_s=grace.total_seconds())
    result = soak.run_soak(config, log=lambda line: console.print(line, highlight=False, soft_wrap=True))
    for line in soak.format_table(result):
        console.print(line, highlight=False, soft_wrap=True)
    target = out or where / "soak.json"
    target.write_text(json.dumps(result.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"written {target}")
    if not result.ok:
        raise typer.Exit(1)
