"""`finsent train`, `finsent eval`, `finsent models ...` and `finsent bench inference`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from finsent.cli.common import bench_app, console, err_console
from finsent.cli.context import current
from finsent.core.errors import FinsentError
from finsent.core.sections import CpuBackend, Device

__all__ = ["read_entities", "read_labeled", "read_training_examples", "register", "resolve_model"]

models_app = typer.Typer(help="Model registry: list, show, promote, roll back.", no_args_is_help=True)


def resolve_model(model: str | None) -> str:
    """A version directory: a path, a registered version id, or (None) the production version."""
    if model and Path(model).is_dir():
        return model
    registry = current().registry
    record = registry.get(model) if model else registry.production()
    if record is None:
        raise typer.BadParameter("no production model registered; pass --model PATH or run `finsent up`")
    return str(record.path)


def train_cmd(
    topic_data: list[Path] = typer.Option([], "--topic-data", help="Labeled topic file(s) (CSV/JSONL)."),
    sentiment_data: list[Path] = typer.Option([], "--sentiment-data", help="Labeled sentiment file(s)."),
    entity_data: list[Path] = typer.Option(
        [], "--entity-data", help="Entity-level sentiment file(s), FinEntity JSONL (trains the entity head)."
    ),
    entity_design: str = typer.Option(
        "mention+text",
        help="Entity head: mention, mention+text or mention+attn (see finsent.models.entities).",
    ),
    entity_width: int = typer.Option(128, help="Width of the entity head's MLP."),
    entity_doc_labels: bool = typer.Option(
        False, help="Also use a single-entity text's entity label as its document sentiment label."
    ),
    entity_oversample: int = typer.Option(
        1, min=1, help="Repeat entity-labeled training texts this many times per epoch."
    ),
    entity_pairs: int = typer.Option(
        0,
        min=0,
        help="Add this many texts joining two training texts of opposite entity sentiment.",
    ),
    pseudo_labels_from: str | None = typer.Option(
        None,
        help="Self-training: this version (directory or id) fills the topic or sentiment label "
        "a training text lacks, where it is confident.",
    ),
    pseudo_threshold: float = typer.Option(
        0.9, min=0.0, max=1.0, help="Smallest teacher probability kept as a pseudo-label."
    ),
    freeze_encoder: bool = typer.Option(
        False,
        help="Train only heads that have labels (e.g. add an entity head to --init-from, doc scores kept).",
    ),
    out: Path | None = typer.Option(None, help="Version directory (default: <model store>/<version>)."),
    version: str | None = typer.Option(None, help="Version id (default: a timestamp)."),
    base_model: str | None = typer.Option(
        None, help="Encoder (default: settings.models.base_model, else the shipped one)."
    ),
    init_from: str | None = typer.Option(None, help="Warm start from a version directory or id."),
    mode: str = typer.Option("top", help="top (top layers), lora (peft) or full fine-tuning."),
    train_layers: int = typer.Option(
        4, help="Layers trained in --mode top (a warm start trains at least its parent's)."
    ),
    lora_rank: int = typer.Option(64, help="LoRA rank in --mode lora."),
    epochs: int = typer.Option(3),
    lr: float = typer.Option(1.5e-4, help="Encoder learning rate."),
    head_lr: float = typer.Option(2e-3, help="Learning rate of the heads."),
    patience: int = typer.Option(2, help="Epochs without dev improvement before stopping."),
    batch_size: int = typer.Option(32),
    max_length: int = typer.Option(64, help="Training token limit."),
    seed: int = typer.Option(13),
    dev_seed: int | None = typer.Option(
        None, help="Seed of the dev split carved from train (default: --seed)."
    ),
    max_examples: int | None = typer.Option(None, help="Use a seeded sample of this many examples."),
    register: bool = typer.Option(True, help="Register the new version as a candidate."),
) -> None:
    """Fine-tune the topic + sentiment classifier and write (and register) a model version."""
    import random

    from finsent.models.training import TrainConfig, train

    if not topic_data and not sentiment_data and not entity_data:
        raise typer.BadParameter("give --topic-data, --sentiment-data and/or --entity-data")
    from finsent.models.quiet import quiet_third_party

    quiet_third_party()
    settings = current().override(models={"base_model": base_model})
    examples = read_training_examples(
        topic_data, sentiment_data, entity_data, entity_doc_labels=entity_doc_labels
    )
    if max_examples:
        random.Random(seed).shuffle(examples)
        examples = examples[:max_examples]
    init_from = resolve_model(init_from) if init_from else None
    pseudo_labels_from = resolve_model(pseudo_labels_from) if pseudo_labels_from else None
    from finsent.models.versions import new_version_id

    vid = version or new_version_id()
    target = out or settings.model_store_dir / vid
    config = TrainConfig(
        base_model=settings.models.base_model,
        init_from=init_from,
        mode=mode,
        train_layers=train_layers,
        lora_rank=lora_rank,
        lora_alpha=2 * lora_rank,
        epochs=epochs,
        lr=lr,
        head_lr=head_lr,
        patience=patience,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        dev_seed=dev_seed,
        entity_design=entity_design,
        entity_width=entity_width,
        freeze_encoder=freeze_encoder,
        entity_oversample=entity_oversample,
        entity_pairs=entity_pairs,
        pseudo_labels_from=pseudo_labels_from,
        pseudo_label_threshold=pseudo_threshold,
    )
    result = train(examples, target, config, version=vid, on_log=console.print)
    console.print(f"[green]wrote[/green] {result.path}: dev {json.dumps(result.dev_metrics)}")
    if register:
        record = current().registry.register(result.path, copy=out is not None)
        console.print(f"registered {record.version} as {record.status}")


def read_training_examples(
    topic_data: list[Path],
    sentiment_data: list[Path],
    entity_data: list[Path],
    *,
    entity_doc_labels: bool = False,
) -> list[Any]:
    """The examples of ``finsent train``'s data files, in the order it reads them (topic files,
    sentiment files, entity files): the order its data fingerprint and dev split depend on."""
    examples = [e for ds in read_labeled(topic_data, sentiment_data) for e in ds.examples]
    return examples + read_entities(entity_data, doc_labels=entity_doc_labels)


def read_entities(paths: list[Path], *, doc_labels: bool = False) -> list[Any]:
    """Examples of entity-level files (bad rows reported); ``doc_labels``: single-entity texts
    also carry their entity's label as document sentiment."""
    from finsent.models.entity_data import read_entity_jsonl, with_document_labels

    out: list[Any] = []
    for path in paths:
        loaded = read_entity_jsonl(path)
        if loaded.bad_rows:
            err_console.print(f"[yellow]skipped {len(loaded.bad_rows)} bad rows:[/yellow]\n{loaded.report()}")
        out += with_document_labels(loaded.examples) if doc_labels else loaded.examples
    return out


def read_labeled(topic_data: list[Path], sentiment_data: list[Path]) -> list[Any]:
    """Read labeled files (one :class:`models.data.LoadResult` each), reporting skipped bad rows."""
    from finsent.models.data import read_dataset

    out = []
    for path, task in [*((p, "topic") for p in topic_data), *((p, "sentiment") for p in sentiment_data)]:
        loaded = read_dataset(path, task)  # type: ignore[arg-type]  # task is a literal
        if loaded.bad_rows:
            err_console.print(f"[yellow]skipped {len(loaded.bad_rows)} bad rows:[/yellow]\n{loaded.report()}")
        out.append(loaded)
    return out


def eval_cmd(
    data: Path = typer.Option(..., help="Labeled file: CSV, JSONL, PhraseBank or Twitter Financial News."),
    task: str | None = typer.Option(
        None, help="topic, sentiment or entity (FinEntity JSONL; default: from the file)."
    ),
    model: str | None = typer.Option(
        None, help="Version directory or id (default: production, else shipped)."
    ),
    out: Path = typer.Option(Path("eval"), help="Directory for the JSON report and PNGs."),
    cpu_backend: CpuBackend | None = typer.Option(
        None,
        help="CPU inference path (default: settings.models.cpu_backend).",
    ),
    device: Device | None = typer.Option(
        None,
        help="Device (default: settings.models.device).",
    ),
    text_column: str = typer.Option("text"),
    label_column: str = typer.Option("label"),
    label_map: str | None = typer.Option(None, help='JSON raw label -> label, e.g. {"0":"negative"}.'),
    record: bool = typer.Option(False, help="Store the metrics with the registered version."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Evaluate a model on a labeled file: accuracy, macro-F1, per-class P/R/F1, ECE, plots."""
    from finsent.models.entity_eval import TASKS, evaluate_task, read_task_data
    from finsent.models.inference import Classifier

    if task not in (None, *TASKS):
        raise typer.BadParameter("--task must be topic, sentiment or entity")
    settings = current().override(models={"device": device, "cpu_backend": cpu_backend})
    loaded = read_task_data(
        data,
        task,
        text_column=text_column,
        label_column=label_column,
        label_map=json.loads(label_map) if label_map else None,
    )
    from finsent.cli.explain_cmd import model_or_shipped
    from finsent.models.quiet import quiet_third_party

    quiet_third_party()
    clf = Classifier.load(
        model_or_shipped(model),
        device=settings.models.device,
        cpu_backend=settings.models.cpu_backend,
        max_length=settings.models.max_length,
        batch_size=settings.stream.batch_size,
    )
    report = evaluate_task(clf, loaded, out, task=task)
    if loaded.bad_rows:
        err_console.print(f"[yellow]skipped {len(loaded.bad_rows)} bad rows:[/yellow]\n{loaded.report()}")
    if record:
        current().registry.record_metrics(
            clf.version,
            f"{report.task}:{Path(data).name}:{clf.backend_name}",
            {"accuracy": report.accuracy, "macro_f1": report.macro_f1, "ece": report.ece, "n": report.n},
        )
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    _print_report(report)


def _print_report(report: Any) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{report.task}[/bold] on {report.data} (n={report.n}, model {report.model_version}, "
        f"{report.backend}): accuracy {report.accuracy:.4f}  macro-F1 {report.macro_f1:.4f}  "
        f"ECE {report.ece:.4f}"
    )
    if report.source == "document":
        console.print(
            "[yellow]this version has no entity head: the document score stands in for each entity[/yellow]"
        )
    for name, sub in report.subsets.items():
        console.print(
            f"  {name}: n={sub['n']}  accuracy {sub['accuracy']:.4f}  macro-F1 {sub['macro_f1']:.4f}"
        )
    table = Table("class", "precision", "recall", "F1", "support")
    for name, m in report.per_class.items():
        if m["support"]:
            table.add_row(
                name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"])
            )
    console.print(table)
    for kind, path in report.files.items():
        console.print(f"{kind}: {path}")


@models_app.command("list")
def models_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List registered model versions (newest first)."""
    from rich.table import Table

    records = current().registry.list()
    if as_json:
        print(json.dumps([_record_dict(r) for r in records], default=str))
        return
    table = Table("version", "status", "created", "promoted", "path")
    for r in records:
        table.add_row(r.version, r.status, str(r.created_at or ""), str(r.promoted_at or ""), r.path)
    console.print(table)


@models_app.command("show")
def models_show(version: str | None = typer.Argument(None, help="Default: production.")) -> None:
    """Show one version: status, paths, metrics, and what `cpu_backend=auto` chose on this machine."""
    from finsent.models.autoselect import decisions
    from finsent.models.backends import auto_cache_dir

    registry = current().registry
    record = registry.get(version) if version else registry.production()
    if record is None:
        raise FinsentError("no production model registered")
    data = _record_dict(record)
    # Decided at the version's first load per (CPU, threads); empty until then.
    data["auto_backend"] = decisions(auto_cache_dir(), record.version)
    print(json.dumps(data, indent=2, default=str))


@models_app.command("promote")
def models_promote(version: str) -> None:
    """Make VERSION the production model (the current one is archived)."""
    record = current().registry.promote(version)
    console.print(f"[green]{record.version} is production[/green]")


@models_app.command("rollback")
def models_rollback() -> None:
    """Archive the production model and reinstate the one promoted before it."""
    record = current().registry.rollback()
    console.print(f"[green]rolled back: {record.version} is production[/green]")


def _record_dict(record: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(record)


@bench_app.command("inference")
def bench_inference(
    model: str | None = typer.Option(None, help="Version dir or id (default: the shipped model)."),
    data: Path = typer.Option(
        Path("/work/shared/datasets/twitter-financial-news/sentiment/valid.csv"),
        help="Labeled file the headlines (10-60 tokens) are taken from.",
    ),
    n: int = typer.Option(1024, help="Texts per method (one-at-a-time pipeline: --n-single)."),
    n_single: int = typer.Option(256),
    threads: int = typer.Option(2, help="CPU threads of every method."),
    out: Path = typer.Option(Path("bench_inference.json"), help="JSON output."),
) -> None:
    """Docs/s of the engine vs the transformers pipeline (one at a time, batch 64), peak memory."""
    import torch

    from finsent.cli.bench_loader import load_benchmark
    from finsent.cli.bench_report import print_inference_report
    from finsent.models.quiet import quiet_third_party
    from finsent.models.registry import DEFAULT_MODEL_DIR

    quiet_third_party()
    bench = load_benchmark("inference")
    path = str(DEFAULT_MODEL_DIR) if model is None else resolve_model(model)
    report = bench.run_inference_bench(
        path, data, n=n, n_single=n_single, threads=threads, cuda=torch.cuda.is_available()
    )
    print_inference_report(report)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    chart = bench.plot_bench(report, out.with_suffix(".png"))
    console.print(f"wrote {out} and {chart}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    from finsent.cli.distill_cmd import models_distill
    from finsent.cli.explain_cmd import explain_cmd
    from finsent.cli.gate_cmd import models_gate
    from finsent.cli.tune_cmd import models_tune_bias

    models_app.command("distill")(models_distill)
    models_app.command("gate")(models_gate)
    models_app.command("tune-bias")(models_tune_bias)
    app.command("explain")(explain_cmd)
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
    app.add_typer(models_app, name="models")
