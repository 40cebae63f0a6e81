"""`finsent models gate`: every CPU backend's quality figures on held-out data, for the card and `auto`."""

from __future__ import annotations

from pathlib import Path

import typer

from finsent.cli.common import console

__all__ = ["models_gate"]


def models_gate(
    version: str = typer.Argument(..., help="Version directory or registered id."),
    topic_data: list[Path] = typer.Option([], "--topic-data", help="Held-out labeled topic file(s)."),
    sentiment_data: list[Path] = typer.Option(
        [], "--sentiment-data", help="Held-out labeled sentiment file(s)."
    ),
    entity_data: list[Path] = typer.Option(
        [], "--entity-data", help="Held-out entity-level file(s), FinEntity JSONL (recorded, not gated)."
    ),
    backend: list[str] = typer.Option(
        ["bf16", "torch-int8", "onnx-int8"], "--backend", help="CPU backends to score (fp32 always)."
    ),
) -> None:
    """Score VERSION's CPU backends on held-out files; write the figures to its manifest and card.

    `cpu_backend=auto` times only backends whose macro-F1 is within 0.5 points of fp32 on every
    file here. Quality does not depend on the CPU: without native bf16 the bf16 rows are only slower.
    """
    from finsent.cli.models_cmd import resolve_model
    from finsent.models.autoselect import MAX_DROP, gate_table
    from finsent.models.backends import CPU_BACKENDS
    from finsent.models.gate import record_gate
    from finsent.models.network import read_manifest
    from finsent.models.quiet import quiet_third_party

    unknown = sorted(set(backend) - set(CPU_BACKENDS))
    if unknown:
        raise typer.BadParameter(f"unknown backend(s) {unknown}; choose from {list(CPU_BACKENDS)}")
    if not topic_data and not sentiment_data:
        raise typer.BadParameter("give --topic-data and/or --sentiment-data")
    quiet_third_party()
    path = resolve_model(version)
    files = [
        *(("topic", p) for p in topic_data),
        *(("sentiment", p) for p in sentiment_data),
        *(("entity", p) for p in entity_data),
    ]
    record_gate(path, files, backend, on_log=console.print)
    for name, drops in gate_table(read_manifest(path)).items():
        worst = max(drops.values())
        verdict = "passed" if worst <= MAX_DROP else "failed"
        console.print(f"{name}: largest macro-F1 drop {100 * worst:.2f} points -> gate {verdict}")
