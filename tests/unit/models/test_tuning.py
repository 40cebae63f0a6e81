"""Dev-split logit offsets for macro-F1."""

from __future__ import annotations

import pytest

from finsent.models.tuning import best_offsets


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
