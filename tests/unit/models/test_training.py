"""Training: loss falls, the saved version reloads with identical predictions, seeds fix results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.models.conftest import NEGATIVE, POSITIVE, tiny_examples

#: Two optimiser steps on the tiny examples: enough to check what a run saves, not its quality.
TWO_STEPS: dict[str, Any] = {
    "epochs": 1,
    "batch_size": 8,
    "lr": 1e-3,
    "max_length": 32,
    "dev_fraction": 0.0,
    "adapter_dtype": "float32",
    "seed": 2,
    "max_steps": 2,
}


def test_loss_falls(tiny_run: Any) -> None:
    losses = tiny_run.losses
    assert len(losses) >= 8
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < first * 0.8


def test_version_directory_is_complete(tiny_version: Path) -> None:
    manifest = json.loads((tiny_version / "finsent_model.json").read_text())
    assert manifest["version"] == "v-tiny"
    assert manifest["data_fingerprint"].startswith("sha256:")
    assert len(manifest["topic_labels"]) == 20
    assert manifest["sentiment_labels"] == ["negative", "neutral", "positive"]
    assert (tiny_version / "heads.safetensors").is_file()
    assert (tiny_version / "encoder_extras.safetensors").is_file()
    card = (tiny_version / "README.md").read_text()
    assert "MIT" in card and "Twitter Financial News" in card


def test_reload_gives_identical_predictions(tiny_version: Path, classifier: Any) -> None:
    from finsent.models import Classifier

    texts = POSITIVE + NEGATIVE + ["Oil prices steady ahead of OPEC meeting"]
    again = Classifier.load(tiny_version, device="cpu", cpu_backend="fp32", max_length=32)
    first, second = classifier.predict(texts), again.predict(texts)
    assert [s.sentiment for s in first] == [s.sentiment for s in second]
    assert [s.topic for s in first] == [s.topic for s in second]
    for a, b in zip(first, second, strict=True):
        assert a.sentiment_probs == pytest.approx(b.sentiment_probs, abs=1e-6)
        assert a.topic_probs == pytest.approx(b.topic_probs, abs=1e-6)


def test_reload_matches_the_trained_model(tiny_run: Any, tiny_version: Path) -> None:
    """The weights written are the weights trained: in-memory and reloaded logits agree."""
    import torch

    from finsent.models.network import build_model, load_version
    from finsent.models.text import normalize_text

    loaded = load_version(tiny_version)
    fresh, tok = build_model(None, mode="top", train_layers=1)
    fresh.eval()
    batch = tok([normalize_text(t) for t in POSITIVE], padding=True, return_tensors="pt")
    with torch.inference_mode():
        reloaded = loaded.model(batch["input_ids"], batch["attention_mask"])[1]
        untrained = fresh(batch["input_ids"], batch["attention_mask"])[1]
    # The reloaded model is not the base model: training changed what was saved.
    assert not torch.allclose(reloaded, untrained, atol=1e-3)


def test_trained_model_separates_clear_headlines(classifier: Any) -> None:
    pos = classifier.predict(POSITIVE)
    neg = classifier.predict(NEGATIVE)
    assert min(s.score for s in pos) > max(s.score for s in neg)


@pytest.mark.slow
def test_same_data_and_seed_give_same_metrics(tmp_path: Path) -> None:
    from finsent.models.training import TrainConfig, train

    config = TrainConfig(
        mode="top",
        train_layers=1,
        epochs=1,
        batch_size=8,
        max_length=32,
        dev_fraction=0.25,
        patience=5,
        adapter_dtype="float32",
        seed=5,
        max_steps=2,
    )
    a = train(tiny_examples(), tmp_path / "a", config, version="a", progress=False)
    b = train(tiny_examples(), tmp_path / "b", config, version="b", progress=False)
    assert a.losses == b.losses
    assert a.dev_metrics["mean_macro_f1"] == b.dev_metrics["mean_macro_f1"]


def test_split_dev_is_seeded_and_disjoint() -> None:
    from finsent.models.training import split_dev

    examples = tiny_examples()
    train1, dev1 = split_dev(examples, 0.25, seed=1)
    train2, dev2 = split_dev(examples, 0.25, seed=1)
    assert dev1 == dev2 and train1 == train2
    assert not {e.text + str(e.sentiment) + str(e.topic) for e in dev1} & {
        e.text + str(e.sentiment) + str(e.topic) for e in train1
    }
    assert len(train1) + len(dev1) == len(examples)


def test_dev_seed_keeps_one_dev_split_across_training_seeds() -> None:
    from finsent.models.training import TrainConfig, carve_dev, split_dev

    examples = tiny_examples()
    base = split_dev(examples, 0.25, seed=13)
    assert carve_dev(examples, TrainConfig(dev_fraction=0.25, seed=13)) == base
    assert carve_dev(examples, TrainConfig(dev_fraction=0.25, seed=14, dev_seed=13)) == base
    assert carve_dev(examples, TrainConfig(dev_fraction=0.25, seed=14))[1] != base[1]


def test_entity_oversampling_repeats_only_entity_texts_of_the_train_split() -> None:
    from finsent.models.data import EntityLabel, Example
    from finsent.models.training import oversample_entities, split_dev

    ents = [Example(f"Acme {i} rises", entities=(EntityLabel(0, 4, 2),)) for i in range(10)]
    examples = [*tiny_examples(), *ents]
    train_ex, dev_ex = split_dev(examples, 0.2, seed=2)
    out = oversample_entities(train_ex, 3)
    with_ents = [e for e in train_ex if e.entities]
    assert len(out) == len(train_ex) + 2 * len(with_ents)
    assert {e.text: out.count(e) for e in with_ents} == {e.text: 3 for e in with_ents}
    assert all(out.count(e) == 1 for e in train_ex if not e.entities)
    assert not {e.text for e in out} & {e.text for e in dev_ex if e.entities}
    assert oversample_entities(train_ex, 1) == train_ex


def test_opposite_pairs_join_two_texts_of_different_entity_sentiment_with_their_spans() -> None:
    from finsent.models.data import EntityLabel, Example
    from finsent.models.entity_data import disagrees, opposite_pairs

    pos = [Example(f"Acme {i} rises.", entities=(EntityLabel(0, 4, 2),)) for i in range(4)]
    neg = [Example(f"Then Bolt {i} falls.", entities=(EntityLabel(5, 9, 0),)) for i in range(4)]
    mixed = Example("Acme up, Bolt down.", entities=(EntityLabel(0, 4, 2), EntityLabel(9, 13, 0)))
    long = Example("Bolt " + "x" * 500, entities=(EntityLabel(0, 4, 0),))
    out = opposite_pairs([*pos, *neg, mixed, long], 20, seed=3)
    assert len(out) == 20 and len({e.text for e in out}) == 20  # 4 x 4 pairs, both orders: 32
    for e in out:
        assert disagrees(e) and e.sentiment is None and e.topic is None and len(e.text) <= 400
        assert {e.text[x.start : x.end] for x in e.entities} == {"Acme", "Bolt"}
        assert "Acme up" not in e.text and "xxx" not in e.text
    assert opposite_pairs(pos, 5, seed=3) == []  # one sentiment only: nothing to pair
    assert opposite_pairs([*pos, *neg], 5, seed=3) == opposite_pairs([*pos, *neg], 5, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["lora", "full"])
def test_other_modes_save_and_reload(tmp_path: Path, mode: str) -> None:
    """LoRA (merged into the base at load) and full fine-tuning write versions that reload."""
    from finsent.models import Classifier
    from finsent.models.network import load_version
    from finsent.models.training import TrainConfig, train

    config = TrainConfig(mode=mode, lora_rank=4, lora_alpha=8, **TWO_STEPS)
    result = train(tiny_examples(), tmp_path / mode, config, version=f"v-{mode}", progress=False)
    assert (result.path / ("adapter" if mode == "lora" else "encoder")).is_dir()
    loaded = load_version(result.path)
    assert not any("lora_" in name for name, _ in loaded.model.named_parameters())
    texts = POSITIVE + NEGATIVE
    a = Classifier.load(result.path, device="cpu", cpu_backend="fp32").predict(texts)
    b = Classifier.load(result.path, device="cpu", cpu_backend="fp32").predict(texts)
    flat_a = [p for s in a for p in s.sentiment_probs]
    assert flat_a == pytest.approx([p for s in b for p in s.sentiment_probs], abs=1e-6)


def test_finsent_train_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from finsent.cli import app

    data = tmp_path / "sent.csv"
    rows = [
        f'"{e.text}",{["negative", "neutral", "positive"][e.sentiment]}'
        for e in tiny_examples()
        if e.sentiment is not None
    ]
    data.write_text("text,label\n" + "\n".join(rows) + "\n,positive\n", encoding="utf-8")
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "v-cli"
    args = [
        "train",
        "--sentiment-data",
        str(data),
        "--out",
        str(out),
        "--version",
        "v-cli",
        "--epochs",
        "1",
        "--train-layers",
        "1",
        "--max-length",
        "32",
        "--no-register",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad rows" in result.output
    assert json.loads((out / "finsent_model.json").read_text())["version"] == "v-cli"


def test_warm_start_can_unfreeze_more_layers_than_its_parent(tiny_version: Path, tmp_path: Path) -> None:
    """A warm start asking for more top layers than its parent trains (and saves) the lower ones too.

    The tiny parent fine-tuned only the top layer; asking for 2 trains layers 4 and 5, with
    layer 5 starting from the parent's weights and layer 4 from the base encoder. Asking for
    fewer layers than the parent keeps the parent's (its layers differ from the base).
    """
    from safetensors.torch import load_file

    from finsent.models.network import _load_encoder
    from finsent.models.training import TrainConfig, train

    parent = load_file(str(tiny_version / "encoder_extras.safetensors"))
    assert {k.split(".")[2] for k in parent} == {"5"}
    base = dict(_load_encoder(None).named_parameters())
    for layers, want in ((2, {"4", "5"}), (0, {"5"})):
        config = TrainConfig(init_from=str(tiny_version), train_layers=layers, **TWO_STEPS)
        out = train(tiny_examples(), tmp_path / f"v{layers}", config, version=f"v{layers}", progress=False)
        saved = load_file(str(out.path / "encoder_extras.safetensors"))
        assert {k.split(".")[2] for k in saved} == want
        manifest = json.loads((out.path / "finsent_model.json").read_text())
        assert manifest["train_config"]["train_layers"] == len(want)
        key = "encoder.layer.5.attention.self.query.weight"
        assert not saved[key].equal(parent[key])  # trained on from the parent's weights
    key4 = "encoder.layer.4.attention.self.query.weight"
    grown = load_file(str(tmp_path / "v2" / "encoder_extras.safetensors"))[key4]
    assert not grown.equal(base[key4].detach())  # layer 4 moved off the base encoder
