"""`finsent crawl`, `finsent replay`, `finsent demo-feed` and `finsent sources ...` (the ingest stage)."""

from __future__ import annotations

import logging
import re
import signal
import threading
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.table import Table

from finsent.cli.common import bench_app, console, err_console
from finsent.cli.context import AppContext, current
from finsent.core.durations import parse_duration
from finsent.core.errors import ConfigError, RetryableError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from finsent.ingest import CrawlReport, SourcesFile

__all__ = ["register"]

sources_app = typer.Typer(help="Inspect the sources file.", no_args_is_help=True)
_EVENT = re.compile(
    r"^(?P<ticker>[A-Za-z0-9.]+),(?P<start>[^,]+),(?P<dur>[^,]+)(?:,(?P<tone>\w+)(?:,(?P<rate>[^,]+))?)?$"
)
_EVENT_HELP = "expected TICKER,START,DURATION[,TONE[,RATE]] e.g. ACMR,+5m,10m,negative,20 (RATE: items/min)"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("crawl")(crawl)
    app.command("replay")(replay_cmd)
    app.command("demo-feed")(demo_feed)
    app.add_typer(sources_app, name="sources")
    bench_app.command("ingest")(bench_ingest)


def _planted_event(spec: str) -> dict[str, object]:
    match = _EVENT.match(spec.strip())
    if not match:
        raise typer.BadParameter(f"{spec!r}: {_EVENT_HELP}", param_hint="--event")
    try:
        # The same syntax as a rule's window: `8` alone is rejected ("write 8s or 8m").
        length = parse_duration(match["dur"])
    except ValueError as exc:
        raise typer.BadParameter(f"{spec!r}: duration {exc}", param_hint="--event") from None
    event: dict[str, object] = {
        "ticker": match["ticker"].upper(),
        "start": match["start"],
        "duration_s": length.total_seconds(),
        "tone": match["tone"] or "negative",
    }
    if match["rate"] is not None:
        try:
            event["rate_per_min"] = float(match["rate"])
        except ValueError:
            raise typer.BadParameter(
                f"{spec!r}: rate {match['rate']!r} is not a number of items per minute", param_hint="--event"
            ) from None
    return event


def _demo_sources(events: list[str], rate_per_min: float, seed: int) -> SourcesFile:
    from finsent.ingest import parse_sources

    parsed = [_planted_event(spec) for spec in events]
    source = {"id": "demo", "kind": "demo", "interval_s": 5, "seed": seed, "rate_per_min": rate_per_min}
    return parse_sources({"sources": [{**source, "events": parsed}]}, origin="--demo")


def _services(app: AppContext) -> tuple[Engine, str]:
    """The database and the broker, with the raw-articles topic created if the broker answers."""
    from finsent.runtime import create_topics
    from finsent.stream.topics import Topics

    engine, bootstrap, kafka = app.engine, app.kafka_bootstrap, app.settings.kafka
    try:
        create_topics(bootstrap, [Topics(kafka.topic_prefix).raw_articles], kafka.topic_partitions)
    except RetryableError as exc:  # the outbox keeps everything until the broker is back
        err_console.print(f"[yellow]warning:[/yellow] {exc}; articles stay in the outbox for now")
    return engine, bootstrap


def _print_report(report: CrawlReport) -> None:
    table = Table(title="crawl summary")
    for column in (
        "source",
        "kind",
        "fetched",
        "new",
        "duplicates",
        "deferred",
        "errors",
        "304",
        "last error",
    ):
        table.add_column(
            column,
            justify="right"
            if column in {"fetched", "new", "duplicates", "deferred", "errors", "304"}
            else "left",
        )
    for s in report.sources:
        counts = (s.fetched, s.new, s.duplicates, s.deferred, s.errors, s.not_modified)
        table.add_row(s.source_id, s.kind, *(str(n) for n in counts), (s.last_error or "")[:80])
    console.print(table)
    pub = report.published
    line = f"published: {pub.published}"
    if pub.error:
        line += f" (pending in outbox: {pub.error})"
    console.print(line)


def crawl(
    once: bool = typer.Option(False, "--once", help="One pass over all sources, print a summary, exit."),
    sources_file: Path | None = typer.Option(
        None, "--sources", help="Sources YAML (default: settings.ingest.sources_file)."
    ),
    only: list[str] = typer.Option([], "--source", help="Crawl only these source ids (repeatable)."),
    demo: bool = typer.Option(False, "--demo", help="Crawl the synthetic demo feed instead of a file."),
    event: list[str] = typer.Option(
        [],
        "--event",
        help=(
            "With --demo: plant TICKER,START,DURATION[,TONE[,RATE]], e.g. ACMR,+5m,10m,negative,20 "
            "(RATE: items/min, default 10)."
        ),
    ),
    demo_rate: float = typer.Option(20.0, "--demo-rate", min=0.1, help="With --demo: items per minute."),
    seed: int = typer.Option(7, help="With --demo: random seed."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="No database or broker: dedup in memory, print only."
    ),
) -> None:
    """Crawl the configured news sources and publish new articles to the raw-articles topic.

    Without --once, every source is polled on its own interval until SIGTERM/Ctrl-C; running
    polls finish and the outbox is drained before exit.
    """
    from finsent.ingest import build_crawler, run_scheduled
    from finsent.stream.topics import Topics

    app = current()
    settings = app.settings
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    if demo:
        parsed = _demo_sources(event, demo_rate, seed)
    else:
        parsed = _sources_file(sources_file or settings.ingest.sources_file, only)
    engine, bootstrap = (None, None) if dry_run else _services(app)
    stop = threading.Event()
    topic = Topics(settings.kafka.topic_prefix).raw_articles
    crawler = build_crawler(
        parsed, settings=settings, engine=engine, bootstrap=bootstrap, topic=topic, stop=stop
    )
    if once:
        try:
            _print_report(crawler.crawl_once())
        finally:
            crawler.close()
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    reconciler = None
    if engine is not None:
        from finsent.ingest.reconcile import build_reconciler, serve_metrics

        reconciler = build_reconciler(engine, settings.ingest, publisher=crawler.publisher)
        serve_metrics(reconciler.metrics, settings.ingest.metrics_port)
    run_scheduled(
        crawler,
        stop,
        reconciler=reconciler,
        reconcile_interval_s=settings.ingest.reconcile_interval.total_seconds(),
    )


def _sources_file(path: Path, only: list[str]) -> SourcesFile:
    """The sources to crawl: the file's enabled ones, or only those named.

    Raises:
        ConfigError: the file is missing or invalid, names an unknown id, or enables nothing.
    """
    from finsent.ingest import load_sources

    if not path.exists():
        raise ConfigError(
            f"sources file {path} not found: write one with `finsent sources example > {path}`, "
            "pass --sources FILE, or crawl the synthetic feed with --demo"
        )
    parsed = load_sources(path)
    if only:
        unknown = set(only) - {s.id for s in parsed.sources}
        if unknown:
            raise ConfigError(f"unknown source id(s): {', '.join(sorted(unknown))}")
        parsed = parsed.model_copy(update={"sources": [s for s in parsed.sources if s.id in only]})
    if not parsed.enabled():
        raise ConfigError("no enabled sources")
    return parsed


def _parse_rate(rate: str | None) -> float | None:
    if rate is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*", rate)
    if not match or float(match[1]) <= 0:
        raise typer.BadParameter(
            f"{rate!r}: expected messages per second, e.g. 200 or 200/s", param_hint="--rate"
        )
    return float(match[1])


def replay_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSONL corpus."),
    rate: str | None = typer.Option(
        None, "--rate", help="Messages per second, e.g. 200/s (default: flat out)."
    ),
    source_id: str = typer.Option("replay", "--source-id", help="Source id stamped on every article."),
    fmt: Literal["auto", "csv", "jsonl"] = typer.Option("auto", "--format", help="Corpus format."),
    no_db: bool = typer.Option(
        False, "--no-db", help="Publish directly: no outbox, dedup only within the run."
    ),
    salt: str | None = typer.Option(None, "--salt", help="Fresh ids from this salt (replay a corpus again)."),
    retime: bool = typer.Option(False, "--retime", help="Stamp articles with the current time."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Read at most N rows."),
    languages: bool = typer.Option(True, "--languages/--no-languages", help="Detect languages."),
) -> None:
    """Publish a CSV/JSONL corpus to the raw-articles topic (backfills, load tests)."""
    from finsent.ingest import replay
    from finsent.ingest.app import universe_tagger
    from finsent.stream.topics import Topics

    app = current()
    settings = app.settings
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    per_s = _parse_rate(rate)
    engine, bootstrap = (None, app.kafka_bootstrap) if no_db else _services(app)
    stats = replay(
        file,
        bootstrap=bootstrap,
        topic=Topics(settings.kafka.topic_prefix).raw_articles,
        engine=engine,
        rate_per_s=per_s,
        source_id=source_id,
        fmt=fmt,
        id_salt=salt,
        retime=retime,
        limit=limit,
        detect_languages=languages,
        tagger=universe_tagger(settings),
    )
    console.print(
        f"read {stats.read}, new {stats.new}, duplicates {stats.duplicates}, bad {stats.bad}, "
        f"published {stats.published} in {stats.elapsed_s:.1f}s ({stats.rate_per_s:.0f}/s)"
        + (f", [yellow]{stats.unpublished} not acknowledged yet[/yellow]" if stats.unpublished else "")
    )
    if stats.unpublished:
        raise typer.Exit(1)


def demo_feed(
    minutes: float = typer.Option(10.0, min=0.1, help="Length of the generated stretch."),
    rate_per_min: float = typer.Option(20.0, "--rate-per-min", min=0.1, help="Background items per minute."),
    seed: int = typer.Option(7, help="Random seed (same seed, same feed)."),
    event: list[str] = typer.Option(
        [],
        "--event",
        help=(
            "Plant TICKER,START,DURATION[,TONE[,RATE]]; START is an offset like +5m or ISO time, "
            "RATE items/min (default 10)."
        ),
    ),
    start: str | None = typer.Option(None, help="Start time, ISO 8601 (default: now minus --minutes)."),
    out: Path | None = typer.Option(None, "--out", help="Write JSONL here (input for `finsent replay`)."),
) -> None:
    """Generate synthetic finance headlines (fictional companies), optionally with planted bursts."""
    from finsent.ingest import DemoFeed, PlantedEvent, write_corpus

    try:
        begin = datetime.fromisoformat(start) if start else datetime.now(UTC) - timedelta(minutes=minutes)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is not an ISO 8601 time", param_hint="--start") from None
    begin = begin if begin.tzinfo else begin.replace(tzinfo=UTC)
    planted = []
    for config in _demo_sources(event, rate_per_min, seed).sources[0].events:  # type: ignore[union-attr]
        planted.append(
            PlantedEvent(
                config.ticker, config.start_at(begin), config.duration_s, config.tone, config.rate_per_min
            )
        )
    feed = DemoFeed(seed=seed, rate_per_min=rate_per_min, events=planted)
    items = feed.items_between(begin, begin + timedelta(minutes=minutes))
    if out is not None:
        count = write_corpus(out, items)
        console.print(f"wrote {count} items ({sum(i.planted for i in items)} planted) to {out}")
        return
    for item in items:
        mark = "*" if item.planted else " "
        console.print(
            f"{mark} {item.published_at:%H:%M:%S} {item.tone:8} {','.join(item.tickers):10} {item.title}"
        )


@sources_app.command("check")
def sources_check(
    file: Path | None = typer.Argument(None, help="Sources YAML (default: settings.ingest.sources_file)."),
) -> None:
    """Validate a sources file and list its sources."""
    from finsent.ingest import build_tagger, load_sources

    path = file or current().settings.ingest.sources_file
    parsed = load_sources(path)
    tagger = build_tagger(parsed, settings=current().settings)
    table = Table(title=f"{path}: {len(parsed.sources)} source(s), {len(tagger.table)} tickers known")
    for column in ("id", "kind", "enabled", "interval s", "where"):
        table.add_column(column)
    for s in parsed.sources:
        where: Any = (
            getattr(s, "url", None) or getattr(s, "index_url", None) or getattr(s, "path", None) or ""
        )
        table.add_row(s.id, s.kind, "yes" if s.enabled else "no", f"{parsed.interval_of(s):g}", str(where))
    console.print(table)


@sources_app.command("example")
def sources_example() -> None:
    """Print the commented example sources file (every kind and option)."""
    text = resources.files("finsent.ingest").joinpath("data/sources.example.yaml").read_text(encoding="utf-8")
    typer.echo(text, nl=False)


def bench_ingest(
    n: int = typer.Option(2000, "--n", min=10, help="Synthetic articles per stage."),
    offline: bool = typer.Option(False, "--offline", help="Only the in-memory stages (no database/broker)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the figures as JSON here."),
) -> None:
    """Throughput of normalisation, de-duplication, the outbox and publishing (figures, not tests)."""
    import json
    import uuid

    from finsent.cli.bench_loader import load_benchmark

    run_ingest_bench = load_benchmark("ingest").run_ingest_bench

    logging.getLogger("kafka").setLevel(logging.ERROR)
    engine: Engine | None = None
    bootstrap = topic = None
    if not offline:
        from finsent.runtime import create_topics

        app = current()
        engine, bootstrap = _services(app)
        kafka = app.settings.kafka
        topic = f"{kafka.topic_prefix}.bench.{uuid.uuid4().hex[:8]}"
        create_topics(bootstrap, [topic], kafka.topic_partitions)
    rows = run_ingest_bench(n, engine=engine, bootstrap=bootstrap, topic=topic)
    table = Table(title=f"ingest throughput, {n} synthetic articles")
    for column in ("stage", "items/s", "ms/item", "x baseline"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    baseline = rows[0].per_s
    for row in rows:
        ms = 1000 * row.seconds / max(row.items, 1)
        table.add_row(row.stage, f"{row.per_s:,.0f}", f"{ms:.2f}", f"{row.per_s / baseline:.2f}")
    console.print(table)
    console.print(f"baseline: {rows[0].stage}")
    if out is not None:
        out.write_text(json.dumps([r.as_dict() for r in rows], indent=2), encoding="utf-8")
