"""`finsent models distill`: train and gate a version's distilled fast CPU variant."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from finsent.cli.common import console
from finsent.cli.models_cmd import read_labeled, read_training_examples, resolve_model

__all__ = ["models_distill"]


def models_distill(
    version: str = typer.Argument(..., help="Version directory or registered id."),
    topic_data: list[Path] = typer.Option([], "--topic-data", help="Training topic file(s)."),
    sentiment_data: list[Path] = typer.Option([], "--sentiment-data", help="Training sentiment file(s)."),
    gate_topic: list[Path] = typer.Option([], "--gate-topic", help="Held-out labeled topic file(s)."),
    gate_sentiment: list[Path] = typer.Option(
        [], "--gate-sentiment", help="Held-out labeled sentiment file(s)."
    ),
    layers: str = typer.Option("0,1,2", help="Encoder layers the variant keeps (comma-separated)."),
    rank: int = typer.Option(8, help="LoRA rank of the variant's low-rank deltas."),
    epochs: int = typer.Option(6),
    seed: int = typer.Option(13),
    max_drop: float = typer.Option(0.005, help="Largest macro-F1 drop vs fp32 the gate accepts."),
    skip_training: bool = typer.Option(False, help="Only re-run the gate on the existing variant."),
) -> None:
    """Distil VERSION into a faster variant with fewer layers, then gate it against fp32.

    `cpu_backend=auto` uses the variant only if, on every gate file, its macro-F1 is within
    --max-drop of the full fp32 model.
    """
    from finsent.models.distill import DistillConfig, distill, gate_distilled
    from finsent.models.versions import write_model_card

    path = resolve_model(version)
    if not skip_training:
        if not topic_data and not sentiment_data:
            raise typer.BadParameter("give --topic-data and/or --sentiment-data (or --skip-training)")
        examples = read_training_examples(topic_data, sentiment_data, [])
        config = DistillConfig(
            layers=tuple(int(x) for x in layers.split(",") if x.strip()), rank=rank, epochs=epochs, seed=seed
        )
        result = distill(path, examples, config, on_log=console.print)
        console.print(f"[green]wrote[/green] {result.path}: dev {json.dumps(result.dev_metrics)}")
    gate_sets = read_labeled(gate_topic, gate_sentiment)
    if not gate_sets:
        console.print("[yellow]no gate data: the variant is not used by cpu_backend=auto[/yellow]")
        return
    gate = gate_distilled(path, gate_sets, max_drop=max_drop)
    for name, row in gate["results"].items():
        console.print(
            f"{name}: fp32 macro-F1 {row['fp32']['macro_f1']:.4f}, distilled "
            f"{row['distilled']['macro_f1']:.4f} (drop {row['macro_f1_drop'] * 100:.2f} points)"
        )
    write_model_card(path)
    verdict = "[green]passed[/green]" if gate["passed"] else "[red]failed[/red]"
    console.print(f"gate (max drop {max_drop * 100:.1f} points): {verdict}")
