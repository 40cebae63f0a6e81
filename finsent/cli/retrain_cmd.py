"""`finsent labels import|queue`, `finsent retrain --now`, `finsent scheduler`, `finsent drift`."""

from __future__ import annotations

import csv
import getpass
import json
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from finsent.cli.common import console, err_console, load_settings
from finsent.core.errors import ConfigError, FinsentError
from finsent.core.settings import Settings

__all__ = ["build_scheduler", "register", "standard_cron"]

log = logging.getLogger(__name__)

labels_app = typer.Typer(
    help="Analysts' labels: import files, propose what to label next.", no_args_is_help=True
)


def _engine(settings: Settings) -> Any:
    from finsent.runtime import resolve_database_url
    from finsent.storage.db import make_engine

    return make_engine(resolve_database_url(settings), pool_size=2)


def _registry(settings: Settings, engine: Any) -> Any:
    from finsent.models.registry import ModelRegistry
    from finsent.storage.model_registry import SqlModelIndex

    return ModelRegistry(SqlModelIndex(engine), settings.model_store_dir)


def _fail(exc: Exception, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code)


@labels_app.command("import")
def labels_import(
    file: Path = typer.Argument(..., help="CSV (header) or JSONL file of labels."),
    by: str | None = typer.Option(None, "--by", help="Who labeled rows without labeled_by (default: you)."),
    fmt: str = typer.Option("auto", "--format", help="auto, csv or jsonl."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Store the good rows of a label file; list the bad ones by line (exit 1 if any)."""
    from finsent.lifecycle.labeling import import_labels

    if fmt not in ("auto", "csv", "jsonl"):
        raise typer.BadParameter("--format must be auto, csv or jsonl")
    settings = load_settings()
    engine = _engine(settings)
    try:
        result = import_labels(engine, file, default_by=by or getpass.getuser(), fmt=fmt)  # type: ignore[arg-type]
    except FinsentError as exc:
        raise _fail(exc, 2) from None
    finally:
        engine.dispose()
    bad = [{"line": b.line, "reason": b.reason} for b in result.bad_rows]
    if as_json:
        print(json.dumps({"file": result.source, "stored": len(result.stored), "bad_rows": bad}))
    else:
        console.print(f"stored {len(result.stored)} labels from {result.source}")
        for b in result.bad_rows:
            err_console.print(f"[yellow]line {b.line}:[/yellow] {b.reason}")
        if bad:
            err_console.print(f"skipped {len(bad)} bad rows")
    if bad:
        raise typer.Exit(1)


@labels_app.command("queue")
def labels_queue(
    n: int = typer.Option(50, "--n", min=1, max=10_000, help="How many articles to propose."),
    days: float = typer.Option(14.0, help="Only articles published in the last DAYS."),
    out: Path | None = typer.Option(None, help="Write a CSV to fill in and `labels import`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines."),
) -> None:
    """Propose the articles most worth labeling (least certain, or where models disagree)."""
    from finsent.lifecycle.labeling import label_queue

    settings = load_settings()
    engine = _engine(settings)
    try:
        kwargs = {"device": settings.device, "cpu_backend": settings.cpu_backend}
        proposals = label_queue(engine, _registry(settings, engine), n=n, days=days, load_kwargs=kwargs)
    except FinsentError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()
    if out is not None:
        _write_queue_csv(out, proposals)
        console.print(f"wrote {len(proposals)} articles to {out}: fill in topic/sentiment, then import it")
    if as_json:
        for p in proposals:
            print(json.dumps(p.__dict__))
    elif out is None:
        _print_queue(proposals)


def _write_queue_csv(path: Path, proposals: list[Any]) -> None:
    from finsent.models.labels import TOPIC_LABELS

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["article_id", "text", "topic", "sentiment", "predicted", "reason"])
        for p in proposals:
            predicted = f"{TOPIC_LABELS[p.topic]} / {p.sentiment}"
            writer.writerow([p.article_id, p.text, "", "", predicted, p.reason])


def _print_queue(proposals: list[Any]) -> None:
    from rich.table import Table

    if not proposals:
        console.print("nothing to propose: no unlabeled articles scored by the production model")
        return
    table = Table("priority", "article", "text", "why")
    for p in proposals:
        table.add_row(f"{p.priority:.2f}", p.article_id, p.text[:90], p.reason)
    console.print(table)


def retrain_cmd(
    now: bool = typer.Option(False, "--now", help="Run the retraining job once, now."),
    force: bool = typer.Option(False, help="Retrain even without labels newer than production."),
    base_data: Path | None = typer.Option(None, help="Base training data (Twitter Financial News layout)."),
    gold_size: int | None = typer.Option(None, min=2, help="Size of the fixed gold set."),
    replay_size: int | None = typer.Option(None, min=0, help="Base examples replayed (0 = all)."),
    gold_margin: float | None = typer.Option(None, min=0.0, help="Allowed gold macro-F1 drop per task."),
    epochs: int | None = typer.Option(None, min=1),
    max_steps: int | None = typer.Option(None, min=1, help="Stop training after this many steps."),
    max_length: int | None = typer.Option(None, min=8, help="Training token limit."),
    config_file: Path | None = typer.Option(
        None, "--config", help="JSON object of RetrainConfig fields (lr, label_share, ...)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
) -> None:
    """Retrain on the stored labels; promote the challenger only if it passes the gate."""
    from finsent.lifecycle import RetrainConfig
    from finsent.lifecycle.job import RetrainJob, config_from_settings

    if not now:
        raise typer.BadParameter("pass --now to run at once (`finsent scheduler` runs it on schedule)")
    settings = load_settings()
    overrides: dict[str, Any] = dict(base_data=base_data, gold_size=gold_size, replay_size=replay_size)
    overrides |= dict(gold_margin=gold_margin, epochs=epochs, max_steps=max_steps, max_length=max_length)
    engine = _engine(settings)
    try:
        config = config_from_settings(settings)
        if config_file is not None:
            config = RetrainConfig.from_file(config_file, config)
        config = config.with_overrides(**overrides)
        outcome = RetrainJob(settings, engine, config, progress=not as_json).run("manual", force=force)
    except ValueError as exc:
        raise _fail(exc, 2) from None
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(outcome.report or {"status": outcome.status, "reason": outcome.reason}, default=str))
    else:
        colour = {"promoted": "green", "candidate": "yellow", "skipped": "cyan"}.get(outcome.status, "red")
        console.print(f"[{colour}]{outcome.status}[/{colour}] {outcome.version or ''} {outcome.reason}")
        if outcome.report_path is not None:
            console.print(f"report: {outcome.report_path}")
    if outcome.status == "failed":
        raise typer.Exit(1)


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    if token[:1].isalpha():
        return _DAYS.index(token[:3].lower())
    value = int(token)
    if not 0 <= value <= 7:
        raise ValueError(f"day {value} out of range 0-7")
    return value


def _days(part: str) -> set[int]:
    body, _, step_s = part.partition("/")
    step = int(step_s) if step_s else 1
    if step < 1:
        raise ValueError("step must be positive")
    if body == "*":
        lo, hi = 0, 6
    elif "-" in body:
        first, last = body.split("-", 1)
        lo, hi = _day(first), _day(last)
        if hi < lo:
            raise ValueError("range runs backwards")
    else:
        lo = hi = _day(body)
        if step_s:  # "a/n": from a to the end of the week
            hi = 6
    return {d % 7 for d in range(lo, hi + 1, step)}


def standard_cron(expr: str) -> str:
    """``expr`` with its day-of-week field spelled in names.

    Standard cron counts days from Sunday (0 or 7 = Sunday, 1-5 = Monday to Friday); APScheduler's
    ``from_crontab`` counts from Monday, so ``1-5`` would mean Tuesday to Saturday. Names are
    unambiguous to both.

    Raises:
        ValueError: Not five fields, or a day-of-week it cannot read.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    if fields[4] != "*":
        try:
            days = set().union(*(_days(p) for p in fields[4].split(",")))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"day-of-week {fields[4]!r}: {exc}") from None
        fields[4] = ",".join(_DAYS[d] for d in sorted(days))
    return " ".join(fields)


def build_scheduler(settings: Settings, job: Any, *, cron: str | None = None, blocking: bool = True) -> Any:
    """An APScheduler scheduler running ``job.run("cron")`` on ``cron`` (default: the settings').

    One run at a time (``max_instances=1``, missed runs coalesced); the job's own lock also keeps
    runs of other processes apart.

    Raises:
        ConfigError: The cron expression is invalid.
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    expr = cron or settings.retrain_cron
    try:
        trigger = CronTrigger.from_crontab(standard_cron(expr), timezone="UTC")
    except ValueError as exc:
        raise ConfigError(
            f"FINSENT_RETRAIN_CRON (retrain_cron) {expr!r} is not a cron expression: {exc}"
        ) from None
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    scheduler.add_job(
        job.run,
        trigger,
        args=["cron"],
        id="retrain",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    return scheduler


def scheduler_cmd(
    cron: str | None = typer.Option(None, help="Cron expression (default: FINSENT_RETRAIN_CRON)."),
) -> None:
    """Serve the nightly retraining schedule until stopped (Ctrl-C / SIGTERM)."""
    from finsent.lifecycle.job import RetrainJob

    settings = load_settings()
    engine = _engine(settings)
    try:
        scheduler = build_scheduler(settings, RetrainJob(settings, engine), cron=cron)
    except ConfigError as exc:
        raise _fail(exc, 2) from None
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    next_run = scheduler.get_job("retrain").trigger.get_next_fire_time(None, datetime.now(UTC))
    console.print(f"retraining on '{cron or settings.retrain_cron}' (UTC); next run {next_run}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        engine.dispose()


def drift_cmd(
    days: float = typer.Option(7.0, help="The recent stream: scores of the last DAYS."),
    reference_size: int = typer.Option(1000, min=10, help="Training texts the production model scores."),
    base_data: Path | None = typer.Option(None, help="Base training data directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare the recent stream with the training data (predictions, confidence, vocabulary)."""
    from finsent.lifecycle.job import config_from_settings, measure_stream_drift

    settings = load_settings()
    engine = _engine(settings)
    try:
        config = config_from_settings(
            settings, base_data=base_data, drift_days=days, gold_size=reference_size
        )
        report = measure_stream_drift(settings, engine, config)
    except FinsentError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    _print_drift(report)


def _print_drift(report: Any) -> None:
    from rich.table import Table

    console.print(f"recent scores: {report.n_recent}   reference (training texts): {report.n_reference}")
    table = Table("signal", "reference", "recent", "note")
    for task in ("sentiment", "topic"):
        d = getattr(report, task)
        table.add_row(f"{task} PSI", "", f"{d['psi']:.3f}", "moved most: " + ", ".join(d["largest_moves"]))
    low = report.low_confidence
    table.add_row(f"confidence < {low['threshold']}", f"{low['reference']:.3f}", f"{low['recent']:.3f}", "")
    oov = report.oov
    words = ", ".join(w["word"] for w in oov["top_new_words"][:8])
    table.add_row("out-of-vocabulary", f"{oov['reference_rate']:.3f}", f"{oov['recent_rate']:.3f}", words)
    if "unk_rate" in oov:
        table.add_row(
            "[UNK] tokens", f"{oov['unk_rate']['reference']:.4f}", f"{oov['unk_rate']['recent']:.4f}", ""
        )
    console.print(table)
    if report.flags:
        for flag in report.flags:
            console.print(f"[yellow]drift:[/yellow] {flag}")
    else:
        console.print("[green]no drift flagged[/green]")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(labels_app, name="labels")
    app.command("retrain")(retrain_cmd)
    app.command("scheduler")(scheduler_cmd)
    app.command("drift")(drift_cmd)
