"""`finsent api`: the HTTP API and the live dashboard page (uvicorn)."""

from __future__ import annotations

import typer

from finsent.cli.common import console, err_console, load_settings
from finsent.core.errors import ConfigError, FinsentError
from finsent.core.settings import Settings

__all__ = ["register", "serve_api"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("api")(api)


def api(
    host: str | None = typer.Option(None, "--host", help="Bind address (default: FINSENT_API_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Port (default: FINSENT_API_PORT)."),
    protect_reads: bool = typer.Option(
        False, "--protect-reads", help="Require the bearer token on read endpoints too."
    ),
) -> None:
    """Serve the HTTP API (docs at /docs) and the live dashboard page at /."""
    settings = load_settings()
    if settings.api_token is None or not settings.api_token.get_secret_value().strip():
        err_console.print(
            "[red]error:[/red] FINSENT_API_TOKEN (api_token) must be set: the API's write endpoints "
            "need a bearer token",
            highlight=False,
        )
        raise typer.Exit(2)
    from finsent.runtime import resolve_urls

    try:
        database_url, kafka_bootstrap = resolve_urls(settings)
    except FinsentError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    serve_api(
        settings,
        database_url,
        kafka_bootstrap,
        host=host or settings.api_host,
        port=port or settings.api_port,
        protect_reads=protect_reads,
    )


def serve_api(
    settings: Settings,
    database_url: str,
    kafka_bootstrap: str,
    *,
    host: str,
    port: int,
    protect_reads: bool = False,
) -> None:
    """Build the app on the given services, print the page's URL and serve until interrupted.

    Also what `finsent run` calls last, so the README's run command ends with the page served.
    Exits with code 2 (the setting named) when ``FINSENT_API_TOKEN`` is missing.
    """
    import uvicorn

    from finsent.dashboards.api import create_app
    from finsent.runtime import kafka_healthy
    from finsent.storage.db import make_engine

    engine = make_engine(database_url)
    try:
        app = create_app(
            settings,
            engine,
            kafka_bootstrap=kafka_bootstrap,
            broker_probe=lambda bootstrap: kafka_healthy(bootstrap, timeout_s=2.0),
            protect_reads=protect_reads,
        )
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(f"[green]live page[/green]  http://{shown}:{port}/", highlight=False)
    console.print(f"API docs   http://{shown}:{port}/docs", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
    finally:
        engine.dispose()
