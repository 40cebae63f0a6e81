"""The inference engine: contract of Score, order independence, hostile texts, backends."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from finsent.models import SENTIMENT_LABELS, TOPIC_LABELS, EmptyTextError, Score
from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE

HOSTILE = [
    "x" * 100_000,
    "Stocks 🚀🚀🚀 to the moon 💎🙌",
    "日経平均株価が大幅に上昇した",
    "Индекс Мосбиржи снизился на 2%",
    "سوق الأسهم السعودية يرتفع",
    "a",
    "\u200b\u200bzero width\u200b",
    "https://t.co/abc",  # only a link: normalised to nothing but still scored
    "$TSLA $AAPL $MSFT " * 500,
]


def _check(score: Score, version: str) -> None:
    assert isinstance(score, Score)
    assert len(score.topic_probs) == len(TOPIC_LABELS) == 20
    assert len(score.sentiment_probs) == 3
    assert sum(score.topic_probs) == pytest.approx(1.0, abs=1e-4)
    assert sum(score.sentiment_probs) == pytest.approx(1.0, abs=1e-4)
    assert score.topic_label == TOPIC_LABELS[score.topic]
    assert score.sentiment in SENTIMENT_LABELS
    assert score.score == pytest.approx(score.sentiment_probs[2] - score.sentiment_probs[0])
    assert score.confidence == pytest.approx(max(score.sentiment_probs))
    assert score.model_version == version


def test_predict_returns_one_score_per_text(classifier: Any) -> None:
    texts = POSITIVE + NEGATIVE + NEUTRAL
    scores = classifier.predict(texts)
    assert len(scores) == len(texts)
    for s in scores:
        _check(s, "v-tiny")


def test_predictions_are_order_independent(classifier: Any) -> None:
    texts = POSITIVE + NEGATIVE + NEUTRAL + ["Gold rallies", "Fed holds rates steady as expected today"]
    base = dict(zip(texts, classifier.predict(texts), strict=True))
    shuffled = texts[:]
    random.Random(7).shuffle(shuffled)
    for text, score in zip(shuffled, classifier.predict(shuffled), strict=True):
        assert score.sentiment == base[text].sentiment
        assert score.topic == base[text].topic
        assert score.sentiment_probs == pytest.approx(base[text].sentiment_probs, abs=1e-5)


@pytest.mark.parametrize("bad", ["", " ", "\n\t  ", "\u3000"])
def test_empty_or_whitespace_raises_typed_error(classifier: Any, bad: str) -> None:
    with pytest.raises(EmptyTextError):
        classifier.predict(["fine headline", bad])


def test_empty_error_is_bad_data() -> None:
    from finsent.core.errors import BadDataError

    assert issubclass(EmptyTextError, BadDataError)


def test_hostile_texts_return_scores(classifier: Any) -> None:
    scores = classifier.predict(HOSTILE)
    assert len(scores) == len(HOSTILE)
    for s in scores:
        _check(s, "v-tiny")


def test_empty_batch_and_str_argument(classifier: Any) -> None:
    assert classifier.predict([]) == []
    with pytest.raises(TypeError):
        classifier.predict("a single string")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch-int8", "onnx-int8"])
def test_int8_backends_agree_with_fp32(backend: str, tmp_path: Path) -> None:
    """On the shipped model, the int8 paths give (nearly) the fp32 answers."""
    from finsent.models import Classifier
    from finsent.models.registry import DEFAULT_MODEL_DIR

    texts = POSITIVE + NEGATIVE + NEUTRAL + HOSTILE[1:5]
    ref = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="fp32").predict(texts)
    fast = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend=backend, cache_dir=tmp_path)
    assert fast.backend_name == backend
    got = fast.predict(texts)
    clear = len(POSITIVE + NEGATIVE + NEUTRAL)
    assert [s.sentiment for s in got[:clear]] == [s.sentiment for s in ref[:clear]]
    # topic: the same wherever fp32 is confident (the shipped model's int8 paths miss the quality
    # gate, so they differ on the ambiguous short texts; the gate keeps them out of `auto`)
    confident = [(a, b) for a, b in zip(ref[:clear], got[:clear], strict=True) if max(a.topic_probs) >= 0.7]
    assert len(confident) >= clear // 2
    assert all(a.topic == b.topic for a, b in confident)
    for a, b in zip(ref, got, strict=True):
        assert b.sentiment_probs == pytest.approx(a.sentiment_probs, abs=0.2)
    if backend == "onnx-int8":
        assert len(list(tmp_path.glob("*.int8.onnx"))) == 1
        Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend=backend, cache_dir=tmp_path)
        assert len(list(tmp_path.glob("*.onnx"))) == 1  # exported once, reused


def test_unknown_backend_is_rejected(tiny_version: Path) -> None:
    from finsent.models import Classifier

    with pytest.raises(ValueError):
        Classifier.load(tiny_version, device="cpu", cpu_backend="tpu")


@pytest.mark.gpu
def test_cuda_half_precision(tiny_version: Path) -> None:
    import torch

    from finsent.models import Classifier

    if not torch.cuda.is_available():
        pytest.skip("no CUDA")
    clf = Classifier.load(tiny_version, device="auto")
    assert clf.backend_name in ("cuda-bf16", "cuda-fp16")
    _check(clf.predict(["Stocks rally"])[0], "v-tiny")
