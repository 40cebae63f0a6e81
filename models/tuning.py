"""Post-training adjustment on the dev split: per-class logit offsets of a head for macro-F1.

Class-imbalanced heads tend to under-predict minority classes; adding a small offset to each
class logit, chosen by grid search on the dev split carved from train (never on the evaluation
data), trades a little accuracy for macro-F1. The offsets are folded into the head's bias, so
inference is unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finsent.models.data import Example, Task

__all__ = ["best_offsets", "tune_head_bias", "tuned_copy", "version_dev_split"]


def best_offsets(
    logits: Sequence[Sequence[float]],
    gold: Sequence[int],
    grid: Sequence[float],
    *,
    max_acc_drop: float = 0.005,
) -> tuple[list[float], float, float]:
    """Offsets (first class fixed at 0) maximising macro-F1 with accuracy within ``max_acc_drop``.

    Returns:
        (offsets, macro-F1, accuracy) of the best grid point.
    """
    import numpy as np
    from sklearn.metrics import f1_score

    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(gold)
    base_acc = float((x.argmax(1) == y).mean())
    n = x.shape[1]
    best = ([0.0] * n, float(f1_score(y, x.argmax(1), average="macro")), base_acc)
    for combo in itertools.product(grid, repeat=n - 1):
        off = np.array([0.0, *combo])
        pred = (x + off).argmax(1)
        acc = float((pred == y).mean())
        if acc < base_acc - max_acc_drop:
            continue
        f1 = float(f1_score(y, pred, average="macro"))
        if f1 > best[1] + 1e-9:
            best = (off.tolist(), f1, acc)
    return best


def version_dev_split(version_dir: str | Path, examples: Sequence[Example]) -> list[Example]:
    """The dev split a version was selected on, carved again from its training ``examples``.

    ``examples`` must be the version's training data, in the order ``finsent train`` read them
    (its manifest's data fingerprint is checked): any other data would put texts the version
    was trained on into the "dev" split.

    Raises:
        DataFormatError: the data's fingerprint is not the version's.
    """
    from finsent.models.data import data_fingerprint
    from finsent.models.exceptions import DataFormatError
    from finsent.models.network import read_manifest
    from finsent.models.training import TrainConfig, carve_dev

    manifest = read_manifest(version_dir)
    got, want = data_fingerprint(examples), manifest.get("data_fingerprint")
    if got != want:
        raise DataFormatError(
            f"these are not the training data of {manifest.get('version')} (fingerprint {got}, "
            f"the version's {want}): give the files `finsent train` was given, in the same order"
        )
    cfg = manifest.get("train_config", {})
    split = {k: cfg[k] for k in ("seed", "dev_seed", "dev_fraction") if k in cfg}  # else TrainConfig's
    return carve_dev(examples, TrainConfig(**split))[1]


def tuned_copy(
    version_dir: str | Path, out_dir: str | Path, version: str, examples: Sequence[Example], task: Task
) -> dict[str, Any]:
    """Copy a version to ``out_dir`` as ``version`` (its parent: the source) and fold offsets
    tuned on the source's own dev split (:func:`version_dev_split`) into ``task``'s head bias.

    Entity-labeled dev texts are left out (they tune no document head). The copy's ``dev_metrics``
    are the source's (selection happened there); the offsets' dev figures go to ``bias_tuning``.
    """
    import shutil

    from finsent.models.network import read_manifest, update_manifest

    src, out = Path(version_dir), Path(out_dir)
    if out.exists():
        raise FileExistsError(f"{out} exists: choose a new directory for the tuned version")
    dev = [e for e in version_dev_split(src, examples) if not e.entities]
    shutil.copytree(src, out)
    update_manifest(out, version=version, parent_version=read_manifest(src).get("version"))
    return tune_head_bias(out, dev, task)


def tune_head_bias(
    version_dir: str | Path, dev: Sequence[Example], task: Task = "sentiment", *, max_length: int = 64
) -> dict[str, Any]:
    """Fold dev-tuned logit offsets into ``task``'s head bias of a saved version (in place)."""
    import torch
    from safetensors.torch import load_file, save_file

    from finsent.models.network import load_version, update_manifest
    from finsent.models.text import normalize_text
    from finsent.models.versions import write_model_card

    root = Path(version_dir)
    loaded = load_version(root)
    rows = [e for e in dev if e.label(task) is not None]
    logits: list[list[float]] = []
    with torch.inference_mode():
        for start in range(0, len(rows), 128):
            chunk = rows[start : start + 128]
            enc = loaded.tokenizer(
                [normalize_text(e.text) for e in chunk],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            t, s = loaded.model(enc["input_ids"], enc["attention_mask"])
            logits.extend((t if task == "topic" else s).tolist())
    gold = [int(e.label(task)) for e in rows]  # type: ignore[arg-type]  # filtered above
    grid = [round(-1.5 + 0.1 * i, 2) for i in range(31)]
    offsets, f1, acc = best_offsets(logits, gold, grid)
    heads = load_file(str(root / "heads.safetensors"))
    key = f"{task}_head.bias"
    heads[key] = heads[key] + torch.tensor(offsets, dtype=heads[key].dtype)
    save_file(heads, str(root / "heads.safetensors"))
    result = {"task": task, "offsets": offsets, "dev_macro_f1": f1, "dev_accuracy": acc, "n_dev": len(rows)}
    update_manifest(root, bias_tuning=result)
    write_model_card(root)
    return result
