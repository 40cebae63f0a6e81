"""`finsent worker` (a scoring worker) and `finsent bench pipeline` (end-to-end throughput/latency)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from finsent.cli.common import bench_app, console, err_console, load_settings
from finsent.core.errors import ConfigError, FinsentError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("worker")(worker)
    bench_app.command("pipeline")(bench_pipeline)


def worker(
    batch_size: int | None = typer.Option(
        None, min=1, help="Most articles per batch (default: FINSENT_BATCH_SIZE)."
    ),
    batch_window: float | None = typer.Option(
        None, min=0.001, help="Longest wait to fill a batch, seconds (default: FINSENT_BATCH_WINDOW_S)."
    ),
    concurrency: int | None = typer.Option(
        None, min=1, help="Agent instances in this process (default: FINSENT_WORKER_CONCURRENCY)."
    ),
    device: str | None = typer.Option(None, help="auto | cpu | cuda (default: FINSENT_DEVICE)."),
    metrics_port: int | None = typer.Option(
        None, min=0, max=65535, help="Prometheus port, 0 = off (default: FINSENT_METRICS_PORT)."
    ),
    group: str | None = typer.Option(
        None, help="Consumer group shared by the workers (default: <topic prefix>-scoring)."
    ),
    reload_interval: float = typer.Option(
        5.0, min=0.1, help="Seconds between looks at the registry for a newly promoted model."
    ),
    session_timeout: float = typer.Option(
        10.0, min=1.0, help="Consumer-group session timeout: how soon a dead worker's partitions move."
    ),
    log_format: str = typer.Option("json", help="json (structured lines) | text."),
) -> None:
    """Run a scoring worker: raw articles -> batched inference -> PostgreSQL -> scored topic.

    Start several (same group) to share the partitions. Stop with Ctrl-C / SIGTERM: the batch in
    progress is finished or re-delivered, never lost.
    """
    if device is not None and device not in ("auto", "cpu", "cuda"):
        err_console.print(f"[red]error:[/red] --device must be auto, cpu or cuda, not {device!r}")
        raise typer.Exit(2)
    if log_format not in ("json", "text"):
        err_console.print(f"[red]error:[/red] --log-format must be json or text, not {log_format!r}")
        raise typer.Exit(2)
    settings = load_settings()
    from finsent.runtime import resolve_urls
    from finsent.stream.config import StreamConfig
    from finsent.stream.worker import ScoringWorker

    try:
        database_url, kafka_bootstrap = resolve_urls(settings)
        config = StreamConfig.from_settings(
            settings,
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            batch_size=batch_size,
            batch_window_s=batch_window,
            concurrency=concurrency,
            device=device,
            metrics_port=metrics_port,
            group_id=group,
            reload_check_s=reload_interval,
            session_timeout_s=session_timeout,
        )
        ScoringWorker(
            config, startup_timeout_s=settings.startup_timeout_s, json_logs=log_format == "json"
        ).run()
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except FinsentError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None


def bench_pipeline(
    articles: int = typer.Option(3000, min=100, help="Articles replayed at full speed."),
    rate_fraction: float = typer.Option(
        0.5, min=0.05, max=1.0, help="Fixed-rate phase at this fraction of the sustained rate."
    ),
    rate_seconds: float = typer.Option(20.0, min=2.0, help="Length of the fixed-rate phase, seconds."),
    workers: int = typer.Option(1, min=1, help="Worker processes in the group."),
    batch_size: int | None = typer.Option(
        None, min=1, help="Worker batch size (default: FINSENT_BATCH_SIZE)."
    ),
    batch_window: float | None = typer.Option(
        None, min=0.001, help="Worker batch window (default: settings)."
    ),
    concurrency: int | None = typer.Option(
        None, min=1, help="Agent instances per worker (default: settings)."
    ),
    model: Path | None = typer.Option(
        None, help="Model version directory (default: the production model, else the shipped default)."
    ),
    output: Path = typer.Option(Path("bench-results/pipeline.json"), help="Where to write the JSON report."),
) -> None:
    """End-to-end benchmark on the running stack (`finsent up`): sustained articles/s vs the
    standalone engine, and publish -> row latency percentiles at a fraction of that rate."""
    settings = load_settings()
    from finsent.runtime import create_topics, resolve_urls
    from finsent.stream.bench import PipelineBenchConfig, render_table, run_pipeline_bench

    try:
        database_url, kafka_bootstrap = resolve_urls(settings)
        report = run_pipeline_bench(
            settings,
            PipelineBenchConfig(
                database_url=database_url,
                kafka_bootstrap=kafka_bootstrap,
                articles=articles,
                rate_fraction=rate_fraction,
                rate_seconds=rate_seconds,
                workers=workers,
                batch_size=batch_size or settings.batch_size,
                batch_window_s=batch_window or settings.batch_window_s,
                concurrency=concurrency or settings.worker_concurrency,
                model_path=model,
            ),
            create_topics=create_topics,
            progress=lambda line: console.print(line, highlight=False),
        )
    except FinsentError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(render_table(report))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    console.print(f"JSON report: {output}")
