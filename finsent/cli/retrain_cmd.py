"""`finsent labels import|queue`, `finsent retrain --now`, `finsent scheduler`, `finsent drift`.

Argument parsing and wiring only: the flows are ``finsent.lifecycle`` (labeling, the retraining
job, the schedule, drift).
"""

from __future__ import annotations

import contextlib
import csv
import getpass
import json
import logging
import signal
from pathlib import Path
from typing import Any

import typer

from finsent.cli.common import console, err_console
from finsent.cli.context import current
from finsent.core.errors import ConfigError

__all__ = ["register"]

log = logging.getLogger(__name__)

labels_app = typer.Typer(
    help="Analysts' labels: import files, propose what to label next.", no_args_is_help=True
)


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
    with current().engine.begin() as conn:
        result = import_labels(conn=conn, path=file, default_by=by or getpass.getuser(), fmt=fmt)  # type: ignore[arg-type]  # checked above
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

    ctx = current()
    models = ctx.settings.models
    with ctx.engine.connect() as conn:
        queue = label_queue(
            conn=conn,
            days=days,
            score_previous=True,
            load_kwargs={"device": models.device, "cpu_backend": models.cpu_backend},
        )
    proposals = [item.proposal for item in queue.items[:n]]
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
    ctx = current()
    overrides: dict[str, Any] = dict(base_data=base_data, gold_size=gold_size, replay_size=replay_size)
    overrides |= dict(gold_margin=gold_margin, epochs=epochs, max_steps=max_steps, max_length=max_length)
    config = config_from_settings(ctx.settings)
    if config_file is not None:
        try:
            config = RetrainConfig.from_file(config_file, config)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--config: {exc}") from None
    config = config.with_overrides(**overrides)
    job = RetrainJob(ctx.settings, ctx.engine, config, progress=not as_json)
    outcome = job.run("manual", force=force)
    if as_json:
        print(json.dumps(outcome.report or {"status": outcome.status, "reason": outcome.reason}, default=str))
    else:
        colour = {"promoted": "green", "candidate": "yellow", "skipped": "cyan"}.get(outcome.status, "red")
        console.print(f"[{colour}]{outcome.status}[/{colour}] {outcome.version or ''} {outcome.reason}")
        if outcome.report_path is not None:
            console.print(f"report: {outcome.report_path}")
    if outcome.status == "failed":
        raise typer.Exit(1)


def scheduler_cmd(
    cron: str | None = typer.Option(None, help="Cron expression (default: the retrain.cron setting)."),
) -> None:
    """Serve the nightly retraining schedule until stopped (Ctrl-C / SIGTERM)."""
    from finsent.lifecycle.job import RetrainJob
    from finsent.lifecycle.schedule import build_scheduler, next_run

    ctx = current()
    settings = ctx.override(retrain={"cron": cron}) if cron else ctx.settings
    scheduler = build_scheduler(RetrainJob(settings, ctx.engine), cron=settings.retrain.cron)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    console.print(f"retraining on '{settings.retrain.cron}' (UTC); next run {next_run(scheduler)}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # a stop is the normal end
        scheduler.start()


def drift_cmd(
    days: float = typer.Option(7.0, help="The recent stream: scores of the last DAYS."),
    reference_size: int = typer.Option(1000, min=10, help="Training texts the production model scores."),
    base_data: Path | None = typer.Option(None, help="Base training data directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare the recent stream with the training data (predictions, confidence, vocabulary)."""
    from finsent.lifecycle.job import config_from_settings, measure_stream_drift

    ctx = current()
    config = config_from_settings(
        ctx.settings, base_data=base_data, drift_days=days, gold_size=reference_size
    )
    report = measure_stream_drift(ctx.settings, ctx.engine, config)
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
