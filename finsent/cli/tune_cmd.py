"""`finsent models tune-bias`: a new version whose head bias is tuned for macro-F1 on the dev split."""

from __future__ import annotations

from pathlib import Path

import typer

from finsent.cli.common import console

__all__ = ["models_tune_bias"]


def models_tune_bias(
    version: str = typer.Argument(..., help="Version directory or registered id."),
    out: Path = typer.Option(..., help="Directory of the new, tuned version (must not exist)."),
    new_version: str = typer.Option(..., "--version", help="Id of the new version."),
    topic_data: list[Path] = typer.Option([], "--topic-data", help="The version's topic training file(s)."),
    sentiment_data: list[Path] = typer.Option(
        [], "--sentiment-data", help="The version's sentiment training file(s)."
    ),
    entity_data: list[Path] = typer.Option(
        [], "--entity-data", help="The version's entity training file(s)."
    ),
    task: str = typer.Option("sentiment", help="Head whose class offsets are tuned: sentiment or topic."),
) -> None:
    """Copy VERSION to --out and fold per-class logit offsets into one head's bias.

    The offsets (a grid search, accuracy kept within 0.5 points) maximise macro-F1 on the dev
    split VERSION was selected on, carved again from its training files: give the files
    `finsent train` was given, in the same order (their fingerprint is checked). Held-out data
    are never read; score the new version with `finsent models gate` afterwards.
    """
    from finsent.cli.models_cmd import read_training_examples, resolve_model
    from finsent.models.quiet import quiet_third_party
    from finsent.models.tuning import tuned_copy

    if task not in ("sentiment", "topic"):
        raise typer.BadParameter("--task is sentiment or topic")
    quiet_third_party()
    examples = read_training_examples(topic_data, sentiment_data, entity_data)
    try:
        result = tuned_copy(resolve_model(version), out, new_version, examples, task)  # type: ignore[arg-type]
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(
        f"wrote {out} ({new_version}): {task} offsets {result['offsets']}, dev macro-F1 "
        f"{result['dev_macro_f1']:.4f}, accuracy {result['dev_accuracy']:.4f} (n={result['n_dev']})"
    )
