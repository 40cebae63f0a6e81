"""`finsent explain TEXT`: which sentences and words moved a text's sentiment (occlusion)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from finsent.cli.common import console, err_console
from finsent.core.sections import CpuBackend, Device

if TYPE_CHECKING:
    from finsent.models.explain import Explanation

__all__ = ["explain_cmd", "model_or_shipped"]


def model_or_shipped(model: str | None) -> str:
    """``--model`` resolved as :func:`~finsent.cli.models_cmd.resolve_model` does; without it, the
    production version, or the shipped model (saying so in one line on stderr) when none is
    registered or the registry's PostgreSQL is not running."""
    from finsent.cli.models_cmd import resolve_model
    from finsent.models.registry import DEFAULT_MODEL_DIR
    from finsent.runtime.exceptions import StackNotRunningError
    from finsent.storage.exceptions import StorageUnavailableError

    if model is not None:
        return resolve_model(model)
    try:
        return resolve_model(None)
    except StackNotRunningError:
        why = "the embedded PostgreSQL is not running"
    except StorageUnavailableError:
        why = "the model registry's database is unreachable"
    except typer.BadParameter:
        why = "no production model is registered"
    err_console.print(
        f"using the shipped model {DEFAULT_MODEL_DIR} ({why}; pass --model to choose one)", soft_wrap=True
    )
    return str(DEFAULT_MODEL_DIR)


def explain_cmd(
    text: str = typer.Argument(..., help="The text (a headline, or an article's text)."),
    model: str | None = typer.Option(None, help="Version dir or id (default: production, else shipped)."),
    cpu_backend: CpuBackend | None = typer.Option(
        None, help="CPU path (default: settings.models.cpu_backend)."
    ),
    device: Device | None = typer.Option(None, help="Device (default: settings.models.device)."),
    top_words: int = typer.Option(6, min=1, max=64, help="Words shown per top sentence."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as one JSON object."),
) -> None:
    """Explain a text's sentiment: its sentences' effect and the words that moved it most."""
    from finsent.cli.context import current
    from finsent.models.exceptions import EmptyTextError
    from finsent.models.explain import explain
    from finsent.models.inference import Classifier
    from finsent.models.quiet import quiet_third_party
    from finsent.stream.rollup import rollup
    from finsent.stream.units import text_units

    if not text.strip():
        raise EmptyTextError("TEXT is empty")
    quiet_third_party()
    settings = current().override(models={"device": device, "cpu_backend": cpu_backend})
    path = model_or_shipped(model)
    clf = Classifier.load(
        path,
        device=settings.models.device,
        cpu_backend=settings.models.cpu_backend,
        max_length=settings.models.max_length,
    )
    result = explain(clf, text_units(text), rollup=rollup, top_words=top_words)
    if as_json:
        print(json.dumps(result.to_dict()))
        return
    _print(result, Path(path).name)


def _print(result: Explanation, model_name: str) -> None:
    from rich.markup import escape

    r = result.to_dict()
    console.print(
        f"[bold]{r['sentiment']}[/bold] (score {r['score']:+.3f}; model {r['model_version']} on "
        f"{r['backend']} from {model_name}; method {r['method']})",
        highlight=False,
        soft_wrap=True,
    )
    for s in r["sentences"]:
        mark = "*" if s["top"] else " "
        console.print(
            f"{mark} effect {s['effect']:+.3f}  {s['sentiment']:<8} {s['score']:+.3f}  {escape(s['text'])}",
            highlight=False,
            soft_wrap=True,
        )
    if r["words"]:
        words = ", ".join(f"{escape(w['text'])} ({w['weight']:+.2f})" for w in r["words"])
        console.print(
            f"words that moved it most (relative push towards positive, -1..1): {words}",
            highlight=False,
            soft_wrap=True,
        )
