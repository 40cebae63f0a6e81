"""The distilled fast variant: training, compact storage, reload, the quality gate and `auto`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE, tiny_examples


@pytest.fixture(scope="module")
def distilled(tiny_version: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A copy of the tiny version with a 2-layer distilled variant (a few dozen steps)."""
    from finsent.models.distill import DistillConfig, distill

    path = tmp_path_factory.mktemp("distill") / "v-tiny"
    shutil.copytree(tiny_version, path)
    config = DistillConfig(
        layers=(0, 1), rank=4, epochs=12, batch_size=8, lr=3e-3, max_length=32, dev_fraction=0.0, seed=5
    )
    return path, distill(path, tiny_examples(), config, progress=False)


def _gate_sets() -> list[Any]:
    from finsent.models.data import Example, LoadResult

    sentiment = LoadResult(source="gate_sentiment.csv", task="sentiment")
    for label, texts in enumerate((NEGATIVE, NEUTRAL, POSITIVE)):
        sentiment.examples += [Example(t, sentiment=label) for t in texts]
    return [sentiment]


def test_distillation_loss_falls_and_variant_is_stored_compactly(distilled: tuple[Path, Any]) -> None:
    from finsent.models.distill import DISTILLED_FILE

    path, result = distilled
    first, last = result.losses[:4], result.losses[-4:]
    assert sum(last) / len(last) < 0.5 * sum(first) / len(first)
    manifest = json.loads((path / "finsent_model.json").read_text())
    assert manifest["distilled"]["layers"] == [0, 1]
    assert manifest["distilled"]["gate"] is None  # not gated yet
    full_layers = sum(p.stat().st_size for p in path.glob("encoder_extras.safetensors"))
    variant = (path / DISTILLED_FILE).stat().st_size
    assert variant < 0.25 * full_layers  # deltas, norms and heads, not whole layers


def test_distilled_variant_has_fewer_layers_and_follows_its_teacher(distilled: tuple[Path, Any]) -> None:
    from finsent.models import Classifier
    from finsent.models.distill import load_distilled
    from finsent.models.network import load_version

    path, _ = distilled
    assert len(load_distilled(load_version(path)).encoder.encoder.layer) == 2
    texts = POSITIVE + NEGATIVE + NEUTRAL
    ref = Classifier.load(path, device="cpu", cpu_backend="fp32", max_length=32).predict(texts)
    fast = Classifier.load(path, device="cpu", cpu_backend="distilled", max_length=32)
    assert fast.backend_name == "distilled"
    got = fast.predict(texts)
    agree = sum(a.sentiment == b.sentiment for a, b in zip(ref, got, strict=True))
    assert agree >= len(texts) - 2
    again = Classifier.load(path, device="cpu", cpu_backend="distilled", max_length=32).predict(texts)
    assert [s.sentiment_probs for s in again] == [s.sentiment_probs for s in got]  # reload is exact
    assert got != ref  # a different, smaller network


def test_gate_decides_what_auto_runs(
    distilled: tuple[Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsent.models import Classifier
    from finsent.models.autoselect import decisions
    from finsent.models.backends import AUTO_CPU_BACKEND, auto_cpu_backend
    from finsent.models.distill import gate_distilled
    from finsent.models.network import read_manifest
    from finsent.models.versions import write_model_card

    path, _ = distilled
    assert auto_cpu_backend(read_manifest(path)) == AUTO_CPU_BACKEND  # not gated: int8 path
    gate = gate_distilled(path, _gate_sets(), max_drop=-1.0)  # nothing can pass a negative drop
    row = gate["results"]["sentiment:gate_sentiment.csv"]
    assert row["fp32"]["n"] == 12
    assert row["macro_f1_drop"] == pytest.approx(row["fp32"]["macro_f1"] - row["distilled"]["macro_f1"])
    assert gate["passed"] is False and auto_cpu_backend(read_manifest(path)) == AUTO_CPU_BACKEND
    assert gate_distilled(path, _gate_sets(), max_drop=1.0)["passed"] is True
    # Once gated, auto times the variant against fp32 on this machine and runs the faster.
    monkeypatch.setenv("FINSENT_ONNX_CACHE", str(tmp_path / "cache"))
    auto = Classifier.load(path, device="cpu", max_length=32)
    (choice,) = decisions(tmp_path / "cache", auto.version)
    assert set(choice["docs_per_s"]) == {"fp32", "distilled"} and auto.backend_name == choice["backend"]
    assert choice["backend"] == max(choice["docs_per_s"], key=choice["docs_per_s"].__getitem__)
    card = write_model_card(path).read_text()
    assert "Distilled fast CPU variant" in card and "**passed**" in card


def test_distilled_backend_needs_a_variant(tiny_version: Path) -> None:
    from finsent.models import Classifier
    from finsent.models.exceptions import ModelLoadError

    with pytest.raises(ModelLoadError, match="no distilled variant"):
        Classifier.load(tiny_version, device="cpu", cpu_backend="distilled")


def test_bad_layer_choice_is_rejected(tiny_version: Path, tmp_path: Path) -> None:
    from finsent.models.distill import DistillConfig, distill

    shutil.copytree(tiny_version, tmp_path / "v")
    with pytest.raises(ValueError, match="layers"):
        distill(tmp_path / "v", tiny_examples(), DistillConfig(layers=(0, 9), max_steps=1), progress=False)
