"""`finsent bench sink`: the stream sink's PostgreSQL write path, strategy against strategy."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from finsent.cli.common import bench_app, console
from finsent.cli.context import current

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's command to ``finsent bench``."""
    del app  # the command hangs under the bench group
    bench_app.command("sink")(bench_sink)


def bench_sink(
    batches: int = typer.Option(60, min=5, help="Timed batches per strategy."),
    batch_size: int = typer.Option(64, min=1, help="Articles per batch."),
    rate: float = typer.Option(300.0, min=1.0, help="Articles per second of publication time."),
    prefill: int = typer.Option(140, min=0, help="Batches scored before timing starts (the minute's fill)."),
    output: Path = typer.Option(Path("bench-results/sink.json"), help="Where to write the JSON report."),
) -> None:
    """Per-batch cost of storing scored articles (scores, entity and sentence scores, aggregates):
    multi-row INSERT + recount vs COPY + recount vs COPY + fold, interleaved in one run, in a
    scratch database on the running stack's server (`finsent up`)."""
    from finsent.cli.bench_loader import load_benchmark
    from finsent.storage.db import make_engine

    bench = load_benchmark("sink")
    cpu = load_benchmark("pipeline_stats").cpu_name()
    with bench.scratch_database(current().database_url) as url:
        engine = make_engine(url, pool_size=1)
        try:
            rows = bench.run_sink_bench(
                engine, n_batches=batches, batch_size=batch_size, rate=rate, prefill=prefill
            )
        finally:
            engine.dispose()
    figures = [r.as_dict() for r in rows]
    table = Table(title=f"sink write path, {batch_size}-article batches, CPU {cpu}")
    for column in ("strategy", "articles/s", "rows/s", "ms/batch", "p50 ms", "p99 ms", "x first"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    base = figures[0]["articles_per_s"]
    for f in figures:
        table.add_row(
            f["strategy"],
            f"{f['articles_per_s']:,.0f}",
            f"{f['rows_per_s']:,.0f}",
            f"{f['ms_per_batch_mean']:.1f}",
            f"{f['ms_per_batch_p50']:.1f}",
            f"{f['ms_per_batch_p99']:.1f}",
            f"{f['articles_per_s'] / base:.2f}",
        )
    console.print(table)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"cpu": cpu, "strategies": figures}, indent=2), encoding="utf-8")
    console.print(f"JSON report: {output}")
