"""Dev-split logit offsets for macro-F1, and `finsent models tune-bias`."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from finsent.models.tuning import best_offsets
from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE


def test_offsets_recover_an_under_predicted_class() -> None:
    # Class 2 is always a little under-scored: an offset on it fixes every example.
    logits = [[2.0, 0.0, 1.6], [0.0, 2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 1.0]]
    gold = [2, 1, 0, 1]
    offsets, f1, acc = best_offsets(logits, gold, [0.0, 0.5], max_acc_drop=0.0)
    assert offsets == [0.0, 0.0, 0.5]
    assert acc == pytest.approx(1.0) and f1 == pytest.approx(1.0)


def test_no_offset_when_nothing_improves() -> None:
    logits = [[3.0, 0.0], [0.0, 3.0]]
    offsets, f1, acc = best_offsets(logits, [0, 1], [-1.0, 0.0, 1.0])
    assert offsets == [0.0, 0.0] and f1 == pytest.approx(1.0) and acc == pytest.approx(1.0)


def test_accuracy_drop_is_bounded() -> None:
    logits = [[1.0, 0.0]] * 9 + [[0.6, 0.5]]
    gold = [0] * 9 + [1]
    offsets, _, acc = best_offsets(logits, gold, [0.0, 0.2, 2.0], max_acc_drop=0.0)
    assert acc == pytest.approx(1.0) and offsets == [0.0, 0.2]


def test_tune_bias_cli_tunes_a_copy_on_the_versions_own_dev_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`finsent models tune-bias` re-carves the dev split the version was selected on (its data
    fingerprint checked), writes a new version whose only change is the tuned head's bias, and
    leaves the source alone; other data are refused, and an existing --out is not overwritten."""
    from safetensors.torch import load_file
    from typer.testing import CliRunner

    from finsent.cli import app
    from finsent.cli.models_cmd import read_labeled
    from finsent.models.network import read_manifest
    from finsent.models.training import TrainConfig, carve_dev, train
    from finsent.models.tuning import version_dev_split

    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path / "data"))
    names = ["negative", "neutral", "positive"]
    rows = [
        f'"{text} ({i})",{names[label]}'
        for i in range(4)
        for label, texts in enumerate((NEGATIVE, NEUTRAL, POSITIVE))
        for text in texts
    ]
    data = tmp_path / "sent.csv"
    data.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    examples = read_labeled([], [data])[0].examples
    config = TrainConfig(
        train_layers=1, epochs=1, max_length=32, adapter_dtype="float32", seed=5, max_steps=2
    )
    src = Path(train(examples, tmp_path / "v-src", config, version="v-src", progress=False).path)
    assert version_dev_split(src, examples) == carve_dev(examples, config)[1] != []

    out = tmp_path / "v-tuned"
    args = ["models", "tune-bias", str(src), "--out", str(out), "--version", "v-tuned", "--sentiment-data"]
    result = CliRunner().invoke(app, [*args, str(data)])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out)
    assert manifest["version"] == "v-tuned" and manifest["parent_version"] == "v-src"
    offsets = manifest["bias_tuning"]["offsets"]
    assert manifest["bias_tuning"]["n_dev"] == len(carve_dev(examples, config)[1])
    before, after = load_file(str(src / "heads.safetensors")), load_file(str(out / "heads.safetensors"))
    for key, tensor in before.items():
        want = tensor + torch.tensor(offsets) if key == "sentiment_head.bias" else tensor
        assert torch.allclose(after[key], want), key
    extras = "encoder_extras.safetensors"
    assert (src / extras).read_bytes() == (out / extras).read_bytes()
    assert "bias_tuning" not in read_manifest(src)

    again = CliRunner().invoke(app, [*args, str(data)])
    assert again.exit_code == 2 and "exists" in again.output
    other = tmp_path / "other.csv"
    other.write_text("text,label\n" + "\n".join(rows[:-1]) + "\n", encoding="utf-8")
    refused = CliRunner().invoke(app, [*args[:4], str(tmp_path / "v-x"), *args[5:], str(other)])
    assert refused.exit_code == 65 and "not the training data of v-src" in refused.output
    assert not (tmp_path / "v-x").exists()
