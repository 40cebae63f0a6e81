"""`finsent worker` (a scoring worker) and `finsent bench pipeline` (end-to-end throughput/latency)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Literal

import typer

from finsent.cli.common import as_duration, bench_app, console
from finsent.cli.context import current
from finsent.core.sections import Device

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("worker")(worker)
    bench_app.command("pipeline")(bench_pipeline)


def worker(
    batch_size: int | None = typer.Option(
        None, min=1, help="Most articles per batch (default: settings.stream.batch_size)."
    ),
    batch_window: timedelta | None = typer.Option(
        None,
        parser=as_duration,
        metavar="DURATION",
        help="Longest wait to fill a batch, e.g. 500ms (default: settings.stream.batch_window).",
    ),
    concurrency: int | None = typer.Option(
        None, min=1, help="Agent instances in this process (default: settings.stream.concurrency)."
    ),
    device: Device | None = typer.Option(
        None,
        help="Inference device (default: settings.models.device).",
    ),
    metrics_port: int | None = typer.Option(
        None, min=0, max=65535, help="Prometheus port, 0 = off (default: settings.stream.metrics_port)."
    ),
    group: str | None = typer.Option(
        None,
        help="Consumer group shared by the workers "
        "(default: settings.stream.group, else <topic prefix>-scoring).",
    ),
    reload_interval: timedelta | None = typer.Option(
        None,
        parser=as_duration,
        metavar="DURATION",
        help="Time between looks at the registry for a newly promoted model "
        "(default: settings.stream.reload_check).",
    ),
    session_timeout: timedelta | None = typer.Option(
        None,
        parser=as_duration,
        metavar="DURATION",
        help="Consumer-group session timeout: how soon a dead worker's partitions move "
        "(default: settings.stream.session_timeout).",
    ),
    log_format: Literal["json", "text"] = typer.Option("json", help="json (structured lines) | text."),
) -> None:
    """Run a scoring worker: raw articles -> batched inference -> PostgreSQL -> scored topic.

    Start several (same group) to share the partitions. Stop with Ctrl-C / SIGTERM: the batch in
    progress is finished or re-delivered, never lost.
    """
    from finsent.stream.config import StreamConfig
    from finsent.stream.worker import ScoringWorker

    app = current()
    settings = app.override(
        models={"device": device},
        stream={
            "batch_size": batch_size,
            "batch_window": batch_window,
            "concurrency": concurrency,
            "metrics_port": metrics_port,
            "group": group,
            "reload_check": reload_interval,
            "session_timeout": session_timeout,
        },
    )
    config = StreamConfig.from_settings(
        settings, database_url=app.database_url, kafka_bootstrap=app.kafka_bootstrap
    )
    startup_timeout_s = settings.startup_timeout.total_seconds()
    ScoringWorker(config, startup_timeout_s=startup_timeout_s, json_logs=log_format == "json").run()


def bench_pipeline(
    articles: int = typer.Option(3000, min=100, help="Articles replayed at full speed."),
    rate_fraction: float = typer.Option(
        0.5, min=0.05, max=1.0, help="Fixed-rate phase at this fraction of the sustained rate."
    ),
    rate_seconds: float = typer.Option(20.0, min=2.0, help="Length of the fixed-rate phase, seconds."),
    workers: int = typer.Option(1, min=1, help="Worker processes in the group."),
    batch_size: int | None = typer.Option(
        None, min=1, help="Worker batch size (default: settings.stream.batch_size)."
    ),
    batch_window: timedelta | None = typer.Option(
        None,
        parser=as_duration,
        metavar="DURATION",
        help="Worker batch window, e.g. 500ms (default: settings.stream.batch_window).",
    ),
    concurrency: int | None = typer.Option(
        None, min=1, help="Agent instances per worker (default: settings.stream.concurrency)."
    ),
    model: Path | None = typer.Option(
        None, help="Model version directory (default: the production model, else the shipped default)."
    ),
    output: Path = typer.Option(Path("bench-results/pipeline.json"), help="Where to write the JSON report."),
    modes: str = typer.Option(
        "headline,article,article-no-entities",
        help="Comma-separated modes run in turn: headline (title + lead), article (whole-article, "
        "entity scoring on), article-no-entities (whole-article, entity scoring off).",
    ),
    corpus: Literal["demo", "generated"] = typer.Option(
        "demo",
        help="demo: the demo feed's multi-paragraph articles, tagged by ingest; generated: one-line bodies.",
    ),
) -> None:
    """End-to-end benchmark on the running stack (`finsent up`): sustained articles/s vs the
    standalone engine, and publish -> row latency percentiles at a fraction of that rate, for
    headline-only and whole-article scoring, with entity scoring on and off."""
    from finsent.cli.bench_loader import load_benchmark
    from finsent.models.quiet import quiet_third_party
    from finsent.runtime import create_topics

    quiet_third_party()  # the standalone-engine runs load the model here: no loader tables
    bench = load_benchmark("pipeline")
    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    unknown = sorted(set(chosen) - set(bench.MODES))
    if unknown or not chosen:
        raise typer.BadParameter(
            f"unknown mode(s) {unknown}; known: {sorted(bench.MODES)}", param_hint="--modes"
        )

    app = current()
    settings = app.override(
        stream={"batch_size": batch_size, "batch_window": batch_window, "concurrency": concurrency}
    )
    report = bench.run_pipeline_bench(
        settings,
        bench.PipelineBenchConfig(
            database_url=app.database_url,
            kafka_bootstrap=app.kafka_bootstrap,
            articles=articles,
            rate_fraction=rate_fraction,
            rate_seconds=rate_seconds,
            workers=workers,
            batch_size=settings.stream.batch_size,
            batch_window_s=settings.stream.batch_window.total_seconds(),
            concurrency=settings.stream.concurrency,
            model_path=model,
            corpus=corpus,
            modes=chosen,
        ),
        create_topics=create_topics,
        progress=lambda line: console.print(line, highlight=False),
    )
    console.print(bench.render_table(report))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    console.print(f"JSON report: {output}")
