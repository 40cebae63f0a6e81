"""Drift statistics: PSI, low-confidence share, out-of-vocabulary words."""

from __future__ import annotations

import pytest

from finsent.lifecycle import Prediction, compute_drift
from finsent.lifecycle.drift import oov_rate, psi, shares, vocabulary, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme's shares glorped -5% https://t.co/x $ACME", ["acme's", "shares", "glorped"]),
        ("Q3 EPS beat; #stocks up", ["eps", "beat", "up"]),
        ("well-known co. a", ["well-known", "co", "a"]),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_psi_is_zero_for_equal_and_grows_with_shift() -> None:
    a = [0.2, 0.3, 0.5]
    assert psi(a, a) == pytest.approx(0.0)
    assert 0 < psi(a, [0.25, 0.3, 0.45]) < psi(a, [0.6, 0.3, 0.1])


def test_shares_ignore_out_of_range() -> None:
    assert shares([0, 0, 2, 7, -1], 3) == [2 / 3, 0.0, 1 / 3]
    assert shares([], 2) == [0.0, 0.0]


def test_oov_rate_and_new_words() -> None:
    vocab = vocabulary(["Shares fall on weak demand", "Shares rise"])
    rate, top = oov_rate(["Shares glorped", "Acme glorped on demand"], vocab)
    assert rate == pytest.approx(3 / 6)
    assert top[0] == ("glorped", 2)


def _preds(sentiments: list[str], conf: float = 0.9) -> list[Prediction]:
    return [Prediction(topic=i % 3, sentiment=s, confidence=conf) for i, s in enumerate(sentiments)]


def test_no_drift_on_the_same_stream() -> None:
    ref = _preds(["neutral"] * 60 + ["positive"] * 20 + ["negative"] * 20)
    texts = ["Shares rise on demand"] * 10
    report = compute_drift(ref, ref, recent_texts=texts, reference_texts=texts, vocab=vocabulary(texts))
    assert not report.drifted and report.flags == []
    assert report.sentiment["psi"] == pytest.approx(0.0)


def test_drift_is_flagged_with_reasons() -> None:
    ref = _preds(["neutral"] * 60 + ["positive"] * 20 + ["negative"] * 20)
    recent = _preds(["negative"] * 70 + ["neutral"] * 30, conf=0.4)
    vocab = vocabulary(["Shares rise on demand"])
    report = compute_drift(
        ref,
        recent,
        recent_texts=["Shares glorped yoinked"] * 5,
        reference_texts=["Shares rise on demand"],
        vocab=vocab,
        unk=(0.0, 0.01),
    )
    text = " ".join(report.flags)
    assert report.drifted
    assert "sentiment distribution shifted" in text
    assert "low-confidence share rose" in text
    assert "out-of-vocabulary" in text
    assert report.sentiment["largest_moves"][0] == "negative"
    assert report.oov["top_new_words"][0]["word"] in {"glorped", "yoinked"}
    assert report.to_dict()["drifted"] is True


def test_empty_stream_is_not_drift() -> None:
    ref = _preds(["neutral"] * 10)
    report = compute_drift(ref, [], recent_texts=[], reference_texts=["a b"], vocab={"a", "b"})
    assert report.n_recent == 0 and not report.drifted
