"""`finsent run`: the main job on the embedded default, in one command.

Starts (or adopts) the embedded PostgreSQL and broker, provisions them (migrations, topics, the
shipped model), then supervises the services as child processes -- a scoring worker, the crawler
(the synthetic demo feed unless ``--sources`` names real ones), the alerting service and the HTTP
API with the live page -- and prints the page's URL. Ctrl-C / SIGTERM stops the children; the
embedded services keep running until `finsent down`.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import httpx
import typer

from finsent.cli.common import as_duration, console, err_console
from finsent.cli.context import current
from finsent.core.settings import Settings

if TYPE_CHECKING:
    from finsent.runtime.supervisor import Supervisor

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add `finsent run` to the root app."""
    app.command("run")(run)


def run(
    sources: Path | None = typer.Option(
        None, "--sources", help="Crawl this sources YAML instead of the synthetic demo feed."
    ),
    event: list[str] = typer.Option(
        # From the start, 20 items/min for 8 min: the alert opens within about two minutes of
        # `finsent run`, so someone trying the demo sees one without waiting.
        ["ACMR,+0s,8m,negative,20"],
        "--event",
        help=(
            "Demo feed: plant TICKER,START,DURATION[,TONE[,RATE]] (repeatable) so alerts have "
            "something to find."
        ),
    ),
    demo_rate: float = typer.Option(30.0, "--demo-rate", min=0.1, help="Demo feed: items per minute."),
    workers: int = typer.Option(1, min=1, max=8, help="Scoring worker processes (one consumer group)."),
    duration: timedelta | None = typer.Option(
        None,
        parser=as_duration,
        metavar="DURATION",
        help="Stop after this long, e.g. 10m (default: until Ctrl-C).",
    ),
) -> None:
    """Start the stack, stream news through the models, serve the live dashboard (prints its URL)."""
    from finsent.runtime import EmbeddedStack, provision
    from finsent.runtime.supervisor import ChildSpec, Supervisor, finsent_argv

    settings = current().settings
    info = EmbeddedStack(settings).start()
    for line in provision(settings, info.database_url, info.kafka_bootstrap):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print(f"PostgreSQL and broker up (data dir {info.data_dir})")

    token = _api_token(settings)
    sup = Supervisor(settings.data_dir / "logs")
    metrics_base = settings.stream.metrics_port
    for i in range(workers):
        port = str(metrics_base + i if metrics_base else 0)
        sup.add(ChildSpec(f"worker-{i + 1}", finsent_argv("worker", "--metrics-port", port)))
    crawl = (
        ["crawl", "--sources", str(sources)]
        if sources
        else ["crawl", "--demo", "--demo-rate", str(demo_rate)]
    )
    if not sources:
        for spec in event:
            crawl += ["--event", spec]
    sup.add(ChildSpec("crawler", finsent_argv(*crawl)))
    sup.add(ChildSpec("alerts", finsent_argv("alerts", "run")))
    sup.add(ChildSpec("api", finsent_argv("api"), env={"FINSENT_API__TOKEN": token}))

    url = f"http://{settings.api.host}:{settings.api.port}/"
    _wait_for_page(url, timeout_s=120.0)
    console.print(f"[bold green]finsent is running[/bold green]: live dashboard at [link={url}]{url}[/link]")
    console.print(f"API docs at {url}docs  (write token: {token})")
    console.print(f"logs in {sup.log_dir}; Ctrl-C stops the services, `finsent down` the database and broker")
    _supervise(sup, duration)


def _api_token(settings: Settings) -> str:
    # Embedded convenience: the API refuses to start without a token, so make (and keep) one.
    if settings.api.token is not None and settings.api.token.get_secret_value().strip():
        return settings.api.token.get_secret_value()
    path = settings.data_dir / "api_token"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token


def _wait_for_page(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    err_console.print(f"[yellow]warning:[/yellow] {url} did not answer within {timeout_s:.0f}s; see logs")


def _supervise(sup: Supervisor, duration: timedelta | None) -> None:
    stopping = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    end = time.monotonic() + duration.total_seconds() if duration else float("inf")
    try:
        while not stopping and time.monotonic() < end:
            for line in sup.poll():
                console.print(f"[yellow]{line}[/yellow]", highlight=False)
            time.sleep(1.0)
    finally:
        console.print("stopping services ...")
        sup.stop()
        console.print("stopped (database and broker keep running: `finsent down` stops them)")
