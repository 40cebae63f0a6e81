"""`finsent dashboards build|push|check`: Grafana dashboards as code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from finsent.cli.common import as_duration, console, err_console
from finsent.cli.context import current

__all__ = ["dashboards_app", "register"]

dashboards_app = typer.Typer(help="Grafana dashboards as code (grafanalib).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(dashboards_app, name="dashboards")


@dashboards_app.command("build")
def build(
    out_dir: Path | None = typer.Option(
        None, "--out", help="Output directory (default: dashboards/grafana/json, mounted by Grafana)."
    ),
) -> None:
    """Regenerate the dashboards' JSON from code."""
    from finsent.dashboards.grafana_build import JSON_DIR, write_dashboards

    for path in write_dashboards(out_dir or JSON_DIR):
        console.print(f"wrote {path}", highlight=False)


@dashboards_app.command("push")
def push(
    url: str = typer.Option(..., "--url", envvar="GRAFANA_URL", help="Grafana base URL."),
    token: str = typer.Option(
        ..., "--token", envvar="GRAFANA_TOKEN", help="Service-account token (or env GRAFANA_TOKEN)."
    ),
    folder: str = typer.Option("finsent", "--folder", help="Folder uid that receives the dashboards."),
    timeout: timedelta = typer.Option(
        "10s", parser=as_duration, metavar="DURATION", help="Timeout of each HTTP request."
    ),
) -> None:
    """Upsert the dashboards into a running Grafana through its HTTP API (grafana-client)."""
    from finsent.dashboards.grafana_build import build_dashboards
    from finsent.dashboards.grafana_push import push_dashboards

    answers = push_dashboards(
        url, token, build_dashboards(), folder_uid=folder, timeout_s=timeout.total_seconds()
    )
    for answer in answers:
        where = url.rstrip("/") + str(answer.get("url", ""))
        console.print(f"{answer.get('uid')}: {answer.get('status')} -> {where}", highlight=False)


@dashboards_app.command("check")
def check(
    hours: float = typer.Option(6.0, "--hours", help="Time range the panels are run over."),
    ticker: str = typer.Option("AAPL", "--ticker", help="Value of the $ticker variable."),
) -> None:
    """Run every panel's SQL (Grafana macros expanded) on finsent's database; print rows per panel."""
    from finsent.dashboards.grafana_build import build_dashboards, iter_queries
    from finsent.dashboards.grafana_sql import expand_macros
    from finsent.storage.panel_queries import count_rows_of

    engine = current().engine
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    queries = (
        ((uid, where), expand_macros(sql, start=start, end=end, variables={"ticker": ticker}))
        for uid, dashboard in build_dashboards().items()
        for where, sql in iter_queries(dashboard)
    )
    failed = 0
    for (uid, where), rows in count_rows_of(engine, queries):
        if isinstance(rows, Exception):  # every broken panel is reported, not just the first
            failed += 1
            err_console.print(f"[red]{uid} {where}: {rows}[/red]", highlight=False)
        else:
            console.print(f"{uid} {where}: {rows} rows", highlight=False)
    if failed:
        raise typer.Exit(1)
