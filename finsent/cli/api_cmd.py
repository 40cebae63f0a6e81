"""`finsent api`: the HTTP API and the live dashboard page (uvicorn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from finsent.cli.common import console
from finsent.cli.context import current
from finsent.core.errors import ConfigError
from finsent.core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["register", "serve_api"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("api")(api)


def api(
    host: str | None = typer.Option(None, "--host", help="Bind address (default: settings.api.host)."),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Port (default: settings.api.port)."
    ),
    protect_reads: bool = typer.Option(
        False, "--protect-reads", help="Require the bearer token on read endpoints too."
    ),
) -> None:
    """Serve the HTTP API (docs at /docs) and the live dashboard page at /."""
    app = current()
    settings = app.override(api={"host": host, "port": port})
    if settings.api.token is None or not settings.api.token.get_secret_value().strip():
        raise ConfigError(
            "FINSENT_API__TOKEN (api.token) must be set: the API's write endpoints need a bearer token"
        )
    serve_api(settings, app.engine, app.kafka_bootstrap, protect_reads=protect_reads)


def serve_api(
    settings: Settings, engine: Engine, kafka_bootstrap: str, *, protect_reads: bool = False
) -> None:
    """Build the app on the given services, print the page's URL and serve until interrupted.

    Binds to ``settings.api.host``/``settings.api.port``.

    Raises:
        ConfigError: ``FINSENT_API__TOKEN`` is missing (from :func:`create_app`).
    """
    import uvicorn

    from finsent.dashboards.api import create_app
    from finsent.runtime import kafka_healthy

    app = create_app(
        settings,
        engine,
        kafka_bootstrap=kafka_bootstrap,
        broker_probe=lambda bootstrap: kafka_healthy(bootstrap, timeout_s=2.0),
        protect_reads=protect_reads,
    )
    host, port = settings.api.host, settings.api.port
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(f"[green]live page[/green]  http://{shown}:{port}/", highlight=False)
    console.print(f"API docs   http://{shown}:{port}/docs", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
