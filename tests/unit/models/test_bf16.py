"""The bf16 CPU path on the real shipped model: same answers as fp32 on clear headlines, probabilities
close; it runs (slower, emulated) on CPUs without native bf16 too, so its quality is checkable anywhere."""

from __future__ import annotations

import pytest

from finsent.models.registry import DEFAULT_MODEL_DIR
from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE


def test_bf16_agrees_with_fp32() -> None:
    from finsent.models import Classifier

    texts = POSITIVE + NEGATIVE + NEUTRAL
    fp32 = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="fp32").predict(texts)
    bf16 = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="bf16")
    assert bf16.backend_name == "bf16"
    got = bf16.predict(texts)
    assert [s.sentiment for s in got[:8]] == ["positive"] * 4 + ["negative"] * 4
    assert sum(a.sentiment == b.sentiment for a, b in zip(fp32, got, strict=True)) >= len(texts) - 1
    for a, b in zip(fp32, got, strict=True):
        assert b.sentiment_probs == pytest.approx(a.sentiment_probs, abs=0.08)


def test_the_shipped_card_holds_bf16_gate_figures() -> None:
    import json

    from finsent.models.autoselect import MAX_DROP, gate_table

    manifest = json.loads((DEFAULT_MODEL_DIR / "finsent_model.json").read_text())
    drops = gate_table(manifest)["bf16"]
    assert set(drops) == {"valid/sentiment", "valid/topic"} and max(drops.values()) <= MAX_DROP
