"""The model card is written from the manifest: the entity head's training paragraph says how the
head was trained (frozen encoder, or jointly with it), and the "What was tried" table lists each
run's dev figures, a dash where a run has none for a task."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from finsent.models.network import read_manifest
from finsent.models.versions import write_model_card

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "default"


@pytest.fixture
def version(tmp_path: Path) -> Path:
    """A copy of the shipped version's manifest (the card needs nothing else)."""
    root = tmp_path / "v"
    root.mkdir()
    shutil.copy(SHIPPED / "finsent_model.json", root / "finsent_model.json")
    return root


def _edit(root: Path, **changes: Any) -> None:
    path = root / "finsent_model.json"
    manifest = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest))


def test_a_head_trained_on_the_frozen_encoder_says_so(version: Path) -> None:
    m = read_manifest(version)
    run = {
        "train_config": {"head_lr": 0.002, "batch_size": 16, "entity_max_length": 128},
        "n_train": 749,
        "n_dev": 83,
        "dev_metrics": {"entity_accuracy": 0.8571, "entity_macro_f1": 0.8248, "epoch": 3.0},
    }
    dev = {k: v for k, v in m["dev_metrics"].items() if not k.startswith("entity_")}
    _edit(version, entity_head=m["entity_head"] | {"training": run}, dev_metrics=dev, experiments=None)
    card = write_model_card(version).read_text()
    head_dev = read_manifest(version)["entity_head"]["training"]["dev_metrics"]
    assert "Trained with the encoder and the document heads frozen" in card
    assert f"dev entity accuracy {head_dev['entity_accuracy']:.4f}" in card
    assert "Trained jointly" not in card
    assert "## What was tried" not in card  # no experiments recorded


def test_a_jointly_trained_head_reports_the_versions_own_run(version: Path) -> None:
    m = read_manifest(version)
    head = m["entity_head"] | {"training": {}}
    dev = m["dev_metrics"] | {"entity_accuracy": 0.8701, "entity_macro_f1": 0.8552, "epoch": 2.0}
    cfg = m["train_config"] | {
        "train_layers": 4,
        "entity_oversample": 5,
        "entity_max_length": 96,
        "entity_pairs": 300,
    }
    _edit(version, entity_head=head, dev_metrics=dev, train_config=cfg)
    card = write_model_card(version).read_text()
    assert "frozen (document outputs unchanged)" not in card
    joint = card[card.index("Trained jointly") :].split("\n\n")[0]
    assert "top 4 layers" in joint and "entity texts repeated 5x per epoch, plus 300 synthetic texts" in joint
    assert "token limit 96" in joint and "best epoch 2" in joint
    assert "dev entity accuracy 0.8701, macro-F1 0.8552" in joint


def test_the_runs_tried_are_tabled_with_a_dash_for_missing_figures(version: Path) -> None:
    runs = [
        {
            "name": "A: joint, 3 epochs",
            "dev": {
                "sentiment_accuracy": 0.875,
                "sentiment_macro_f1": 0.831,
                "topic_accuracy": 0.906,
                "topic_macro_f1": 0.905,
                "entity_accuracy": 0.843,
                "entity_macro_f1": 0.808,
            },
            "note": "LR 1e-4",
        },
        {"name": "B: sentiment only", "dev": {"sentiment_accuracy": 0.874, "sentiment_macro_f1": 0.828}},
    ]
    _edit(version, experiments=runs)
    card = write_model_card(version).read_text()
    table = card[card.index("## What was tried") :].split("\n\n")[0].splitlines()
    assert (
        table[1] == "| run | sentiment acc / macro-F1 | topic acc / macro-F1 | entity acc / macro-F1 | note |"
    )
    assert (
        table[3] == "| A: joint, 3 epochs | 0.8750 / 0.8310 | 0.9060 / 0.9050 | 0.8430 / 0.8080 | LR 1e-4 |"
    )
    assert table[4] == "| B: sentiment only | 0.8740 / 0.8280 | - | - |  |"
    assert len(table) == 5
