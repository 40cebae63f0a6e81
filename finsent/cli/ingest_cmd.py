"""`finsent crawl`, `finsent replay`, `finsent demo-feed` and `finsent sources ...` (the ingest stage)."""

from __future__ import annotations

import logging
import re
import signal
import threading
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from finsent.cli.common import bench_app, console, err_console, load_settings
from finsent.core.errors import ConfigError, FinsentError, RetryableError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from finsent.core.settings import Settings
    from finsent.ingest import CrawlReport, SourcesFile

__all__ = ["register"]

sources_app = typer.Typer(help="Inspect the sources file.", no_args_is_help=True)
_EVENT = re.compile(
    r"^(?P<ticker>[A-Za-z0-9.]+),(?P<start>[^,]+),(?P<dur>\d+(?:\.\d+)?[smh]?)(?:,(?P<tone>\w+))?$"
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("crawl")(crawl)
    app.command("replay")(replay_cmd)
    app.command("demo-feed")(demo_feed)
    app.add_typer(sources_app, name="sources")
    bench_app.command("ingest")(bench_ingest)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _db_unavailable(exc: SQLAlchemyError) -> typer.Exit:
    return _fail(f"database unavailable: {exc.__class__.__name__}: {str(exc).splitlines()[0]}", 1)


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def _demo_sources(events: list[str], rate_per_min: float, seed: int) -> SourcesFile:
    from finsent.ingest import parse_sources

    parsed = []
    for spec in events:
        match = _EVENT.match(spec.strip())
        if not match:
            raise _fail(f"--event {spec!r}: expected TICKER,START,DURATION[,TONE] e.g. ACMR,+5m,10m,negative")
        parsed.append(
            {
                "ticker": match["ticker"].upper(),
                "start": match["start"],
                "duration_s": _seconds(match["dur"]),
                "tone": match["tone"] or "negative",
            }
        )
    source = {"id": "demo", "kind": "demo", "interval_s": 5, "seed": seed, "rate_per_min": rate_per_min}
    return parse_sources({"sources": [{**source, "events": parsed}]}, origin="--demo")


def _services(settings: Settings, need_kafka: bool) -> tuple[Engine, str | None]:
    from finsent.runtime import create_topics, resolve_database_url, resolve_kafka_bootstrap
    from finsent.storage import make_engine
    from finsent.stream.topics import Topics

    engine = make_engine(resolve_database_url(settings))
    try:
        bootstrap = resolve_kafka_bootstrap(settings) if need_kafka else None
    except FinsentError:
        engine.dispose()
        raise
    if bootstrap:
        try:
            create_topics(bootstrap, [Topics(settings.topic_prefix).raw_articles], settings.topic_partitions)
        except RetryableError as exc:  # the outbox keeps everything until the broker is back
            err_console.print(f"[yellow]warning:[/yellow] {exc}; articles stay in the outbox for now")
    return engine, bootstrap


def _print_report(report: CrawlReport) -> None:
    table = Table(title="crawl summary")
    for column in ("source", "kind", "fetched", "new", "duplicates", "errors", "304", "last error"):
        table.add_column(
            column, justify="right" if column in {"fetched", "new", "duplicates", "errors", "304"} else "left"
        )
    for s in report.sources:
        table.add_row(
            s.source_id, s.kind, str(s.fetched), str(s.new), str(s.duplicates), str(s.errors),
            str(s.not_modified), (s.last_error or "")[:80],
        )  # fmt: skip
    console.print(table)
    pub = report.published
    line = f"published: {pub.published}"
    if pub.error:
        line += f" (pending in outbox: {pub.error})"
    console.print(line)


def crawl(
    once: bool = typer.Option(False, "--once", help="One pass over all sources, print a summary, exit."),
    sources_file: Path | None = typer.Option(
        None, "--sources", help="Sources YAML (default: FINSENT_SOURCES_FILE)."
    ),
    only: list[str] = typer.Option([], "--source", help="Crawl only these source ids (repeatable)."),
    demo: bool = typer.Option(False, "--demo", help="Crawl the synthetic demo feed instead of a file."),
    event: list[str] = typer.Option(
        [], "--event", help="With --demo: plant TICKER,START,DURATION[,TONE], e.g. ACMR,+5m,10m,negative."
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
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    from finsent.ingest import build_crawler, load_sources, run_scheduled
    from finsent.stream.topics import Topics

    engine: Engine | None = None
    try:
        path = sources_file or settings.sources_file
        if not demo and not path.exists():
            raise _fail(
                f"sources file {path} not found: write one with `finsent sources example > {path}`, "
                "pass --sources FILE, or crawl the synthetic feed with --demo"
            )
        parsed = _demo_sources(event, demo_rate, seed) if demo else load_sources(path)
        if only:
            unknown = set(only) - {s.id for s in parsed.sources}
            if unknown:
                raise _fail(f"unknown source id(s): {', '.join(sorted(unknown))}")
            parsed = parsed.model_copy(update={"sources": [s for s in parsed.sources if s.id in only]})
        if not parsed.enabled():
            raise _fail("no enabled sources")
        engine, bootstrap = (None, None) if dry_run else _services(settings, need_kafka=True)
        stop = threading.Event()
        crawler = build_crawler(
            parsed, settings=settings, engine=engine, bootstrap=bootstrap,
            topic=Topics(settings.topic_prefix).raw_articles, stop=stop,
        )  # fmt: skip
        if once:
            try:
                _print_report(crawler.crawl_once())
            finally:
                crawler.close()
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_scheduled(crawler, stop)
    except (ConfigError, FinsentError) as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _db_unavailable(exc) from None
    finally:
        if engine is not None:
            engine.dispose()


def _parse_rate(rate: str | None) -> float | None:
    if rate is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/s)?\s*", rate)
    if not match or float(match[1]) <= 0:
        raise _fail(f"--rate {rate!r}: expected messages per second, e.g. 200 or 200/s")
    return float(match[1])


def replay_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSONL corpus."),
    rate: str | None = typer.Option(
        None, "--rate", help="Messages per second, e.g. 200/s (default: flat out)."
    ),
    source_id: str = typer.Option("replay", "--source-id", help="Source id stamped on every article."),
    fmt: str = typer.Option("auto", "--format", help="auto | csv | jsonl."),
    no_db: bool = typer.Option(
        False, "--no-db", help="Publish directly: no outbox, dedup only within the run."
    ),
    salt: str | None = typer.Option(None, "--salt", help="Fresh ids from this salt (replay a corpus again)."),
    retime: bool = typer.Option(False, "--retime", help="Stamp articles with the current time."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Read at most N rows."),
    languages: bool = typer.Option(True, "--languages/--no-languages", help="Detect languages."),
) -> None:
    """Publish a CSV/JSONL corpus to the raw-articles topic (backfills, load tests)."""
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    if fmt not in ("auto", "csv", "jsonl"):
        raise _fail(f"--format must be auto, csv or jsonl, not {fmt!r}")
    per_s = _parse_rate(rate)
    from finsent.ingest import replay
    from finsent.runtime import resolve_kafka_bootstrap
    from finsent.stream.topics import Topics

    engine: Engine | None = None
    try:
        engine, bootstrap = (None, resolve_kafka_bootstrap(settings)) if no_db else _services(settings, True)
        assert bootstrap is not None
        stats = replay(
            file, bootstrap=bootstrap, topic=Topics(settings.topic_prefix).raw_articles, engine=engine,
            rate_per_s=per_s, source_id=source_id, fmt=fmt, id_salt=salt, retime=retime, limit=limit,
            detect_languages=languages,
        )  # fmt: skip
    except FinsentError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _db_unavailable(exc) from None
    finally:
        if engine is not None:
            engine.dispose()
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
        [], "--event", help="Plant TICKER,START,DURATION[,TONE]; START is an offset like +5m or ISO time."
    ),
    start: str | None = typer.Option(None, help="Start time, ISO 8601 (default: now minus --minutes)."),
    out: Path | None = typer.Option(None, "--out", help="Write JSONL here (input for `finsent replay`)."),
) -> None:
    """Generate synthetic finance headlines (fictional companies), optionally with planted bursts."""
    from finsent.ingest import DemoFeed, PlantedEvent, write_corpus

    try:
        begin = datetime.fromisoformat(start) if start else datetime.now(UTC) - timedelta(minutes=minutes)
    except ValueError:
        raise _fail(f"--start {start!r} is not an ISO 8601 time") from None
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
    file: Path | None = typer.Argument(None, help="Sources YAML (default: FINSENT_SOURCES_FILE)."),
) -> None:
    """Validate a sources file and list its sources."""
    from finsent.ingest import build_tagger, load_sources

    path = file or load_settings().sources_file
    try:
        parsed = load_sources(path)
        tagger = build_tagger(parsed)
    except FinsentError as exc:
        raise _fail(str(exc)) from None
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

    from finsent.ingest.bench import run_ingest_bench

    settings = load_settings()
    logging.getLogger("kafka").setLevel(logging.ERROR)
    engine: Engine | None = None
    bootstrap = topic = None
    try:
        if not offline:
            engine, bootstrap = _services(settings, need_kafka=True)
            topic = f"{settings.topic_prefix}.bench.{uuid.uuid4().hex[:8]}"
            if bootstrap:
                from finsent.runtime import create_topics

                create_topics(bootstrap, [topic], settings.topic_partitions)
        rows = run_ingest_bench(n, engine=engine, bootstrap=bootstrap, topic=topic)
    except FinsentError as exc:
        raise _fail(str(exc)) from None
    finally:
        if engine is not None:
            engine.dispose()
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
