"""`finsent dashboards build|push|check`: Grafana dashboards as code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from finsent.cli.common import console, err_console, load_settings
from finsent.core.errors import FinsentError

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
    timeout_s: float = typer.Option(10.0, "--timeout", help="Seconds per HTTP request."),
) -> None:
    """Upsert the dashboards into a running Grafana through its HTTP API (grafana-client)."""
    from finsent.dashboards.grafana_build import build_dashboards
    from finsent.dashboards.grafana_push import push_dashboards

    try:
        answers = push_dashboards(url, token, build_dashboards(), folder_uid=folder, timeout_s=timeout_s)
    except FinsentError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    for answer in answers:
        where = url.rstrip("/") + str(answer.get("url", ""))
        console.print(f"{answer.get('uid')}: {answer.get('status')} -> {where}", highlight=False)


@dashboards_app.command("check")
def check(
    hours: float = typer.Option(6.0, "--hours", help="Time range the panels are run over."),
    ticker: str = typer.Option("AAPL", "--ticker", help="Value of the $ticker variable."),
) -> None:
    """Run every panel's SQL (Grafana macros expanded) on finsent's database; print rows per panel."""
    from sqlalchemy import text

    from finsent.dashboards.grafana_build import build_dashboards, iter_queries
    from finsent.dashboards.grafana_sql import expand_macros
    from finsent.runtime import resolve_database_url
    from finsent.storage.db import make_engine

    settings = load_settings()
    try:
        engine = make_engine(resolve_database_url(settings))
    except FinsentError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    failed = 0
    with engine.connect() as conn:
        for uid, dashboard in build_dashboards().items():
            for where, sql in iter_queries(dashboard):
                query = expand_macros(sql, start=start, end=end, variables={"ticker": ticker})
                try:
                    rows = len(conn.execute(text(query)).fetchall())
                    console.print(f"{uid} {where}: {rows} rows", highlight=False)
                except Exception as exc:  # report every broken panel, not just the first
                    conn.rollback()
                    failed += 1
                    err_console.print(f"[red]{uid} {where}: {exc}[/red]", highlight=False)
    engine.dispose()
    if failed:
        raise typer.Exit(1)
