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
    assert "FinEntity" in card and "ODC-BY" in card and "valid/entity (fp32)" in card
    manifest = json.loads((DEFAULT_MODEL_DIR / "finsent_model.json").read_text())
    for task in ("sentiment", "topic", "entity"):
        assert {"accuracy", "macro_f1"} <= set(manifest["metrics"][f"valid/{task} (fp32)"])
    assert {"disagreeing_accuracy", "multi_entity_accuracy"} <= set(
        manifest["metrics"]["valid/entity (fp32)"]
    )


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


def test_default_model_scores_each_entity(default_classifier: Any) -> None:
    """The shipped entity head scores every target from its mention tokens, in target order,
    without changing the document scores of the same texts."""
    from finsent.models import EntityTarget

    texts = [
        "Nvidia shares jump after record results while Intel slumps on a weak forecast",
        "Regulators move to block Harbor Logistics takeover of Crestline Bank",
    ]
    names = [("Nvidia", "Intel"), ("Crestline Bank", "Harbor Logistics")]
    targets = [
        [EntityTarget(n, ((t.index(n), t.index(n) + len(n)),)) for n in pair]
        for t, pair in zip(texts, names, strict=True)
    ]
    scored = default_classifier.predict(texts, targets)
    plain = default_classifier.predict(texts)
    assert default_classifier.has_entity_head
    for s, p, pair in zip(scored, plain, names, strict=True):
        assert s.sentiment_probs == p.sentiment_probs and s.topic_probs == p.topic_probs
        assert tuple(e.key for e in s.entities) == pair
        for e in s.entities:
            assert e.from_mentions and sum(e.sentiment_probs) == pytest.approx(1.0, abs=1e-5)
            assert e.score == pytest.approx(e.sentiment_probs[2] - e.sentiment_probs[0])
    assert scored[0].entities[0].sentiment == "positive"


def test_shipped_model_has_no_distilled_variant() -> None:
    """The distilled deltas belonged to the previous parent weights: the retrained version ships
    none, the manifest says so, `auto` never picks it and asking for it is a clear error."""
    from finsent.models import Classifier, ModelLoadError
    from finsent.models.backends import auto_cpu_backend

    manifest = json.loads((DEFAULT_MODEL_DIR / "finsent_model.json").read_text())
    assert manifest.get("distilled") is None
    assert not (DEFAULT_MODEL_DIR / "distilled.safetensors").exists()
    assert auto_cpu_backend(manifest) != "distilled"
    with pytest.raises(ModelLoadError, match="distilled"):
        Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="distilled")
