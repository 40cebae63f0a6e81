"""The shipped default model: compact, documented, and it separates clear headlines."""

from __future__ import annotations

import json
from typing import Any

import pytest

from finsent.models.registry import DEFAULT_MODEL_DIR
from tests.unit.models.conftest import NEGATIVE, POSITIVE


def test_artifact_is_small_and_documented() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file())
    assert size <= 15_000_000
    card = (DEFAULT_MODEL_DIR / "README.md").read_text()
    assert "MIT License" in card and "valid/sentiment (fp32)" in card and "valid/topic (fp32)" in card
    manifest = json.loads((DEFAULT_MODEL_DIR / "finsent_model.json").read_text())
    for task in ("sentiment", "topic"):
        assert {"accuracy", "macro_f1"} <= set(manifest["metrics"][f"valid/{task} (fp32)"])


@pytest.fixture(scope="module")
def default_classifier() -> Any:
    from finsent.models import Classifier

    return Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="fp32")


def test_default_model_separates_clear_headlines(default_classifier: Any) -> None:
    pos = default_classifier.predict(POSITIVE)
    neg = default_classifier.predict(NEGATIVE)
    assert all(s.sentiment == "positive" for s in pos)
    assert all(s.sentiment == "negative" for s in neg)
    assert min(s.score for s in pos) > 0 > max(s.score for s in neg)


def test_default_model_topics(default_classifier: Any) -> None:
    scores = default_classifier.predict(
        ["Fed signals another rate hike as inflation stays high", "Oil prices jump as OPEC cuts output"]
    )
    assert [s.topic_label for s in scores] == ["Fed / Central Banks", "Energy / Oil"]


def test_shipped_distilled_variant_is_gated_on_the_valid_splits() -> None:
    """The fast variant ships with its gate result, measured against the same fp32 model whose
    valid figures the card reports; `auto` follows that result."""
    from finsent.models.backends import AUTO_CPU_BACKEND, auto_cpu_backend

    manifest = json.loads((DEFAULT_MODEL_DIR / "finsent_model.json").read_text())
    gate = manifest["distilled"]["gate"]
    assert set(gate["results"]) == {"sentiment:valid.csv", "topic:valid.csv"}
    for name, row in gate["results"].items():
        task = name.split(":")[0]
        card_fp32 = manifest["metrics"][f"valid/{task} (fp32)"]
        assert row["fp32"]["macro_f1"] == pytest.approx(card_fp32["macro_f1"], abs=0.002)
        assert row["macro_f1_drop"] == pytest.approx(row["fp32"]["macro_f1"] - row["distilled"]["macro_f1"])
        assert (row["macro_f1_drop"] <= gate["max_drop"]) or not gate["passed"]
    assert auto_cpu_backend(manifest) == ("distilled" if gate["passed"] else AUTO_CPU_BACKEND)


def test_shipped_distilled_variant_separates_clear_headlines() -> None:
    from finsent.models import Classifier

    fast = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="distilled")
    assert fast.backend_name == "distilled"
    pos, neg = fast.predict(POSITIVE), fast.predict(NEGATIVE)
    assert all(s.sentiment == "positive" for s in pos)
    assert all(s.sentiment == "negative" for s in neg)
