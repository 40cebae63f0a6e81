"""The training mix: fixed gold set, replay, newest label wins, stable held-out slice, oversampling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finsent.lifecycle import RetrainConfig, StoredLabel, build_training_set, split_gold
from finsent.lifecycle.dataset import in_holdout, label_examples
from finsent.models.data import Example


def _base(n: int = 200) -> list[Example]:
    out = [Example(f"topic headline {i}", topic=i % 20) for i in range(n)]
    out += [Example(f"sentiment headline {i}", sentiment=i % 3) for i in range(n)]
    return out


def _labels(n: int, sentiment: str = "negative", start: int = 0) -> list[StoredLabel]:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    return [
        StoredLabel(
            f"Acme glorped {i} percent", sentiment=sentiment, labeled_at=t0 + timedelta(minutes=i), id=i
        )
        for i in range(start, start + n)
    ]


def test_gold_is_fixed_by_seed_and_disjoint_from_the_rest() -> None:
    base = _base()
    gold1, rest1 = split_gold(base, 40, seed=5)
    gold2, _ = split_gold(base, 40, seed=5)
    gold3, _ = split_gold(base, 40, seed=6)
    assert gold1 == gold2 and gold1 != gold3
    assert sum(e.topic is not None for e in gold1) == 20
    assert sum(e.sentiment is not None for e in gold1) == 20
    assert not {e.text for e in gold1} & {e.text for e in rest1}
    assert len(gold1) + len(rest1) == len(base)


def test_smaller_gold_is_a_prefix_sample_of_the_larger() -> None:
    small, _ = split_gold(_base(), 20, seed=5)
    large, _ = split_gold(_base(), 60, seed=5)
    assert {e.text for e in small} <= {e.text for e in large}


def test_holdout_is_stable_and_close_to_the_fraction() -> None:
    texts = [f"headline number {i}" for i in range(2000)]
    first = [in_holdout(t, 0.2) for t in texts]
    assert first == [in_holdout(t, 0.2) for t in texts]
    assert 0.17 < sum(first) / len(first) < 0.23
    # Case and spacing do not move a label between slices.
    assert in_holdout("Headline  Number 7", 0.2) == in_holdout("headline number 7", 0.2)


def test_newest_label_wins_per_text_and_task() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    labels = [
        StoredLabel("Acme drops", sentiment="positive", labeled_at=t0, id=1),
        StoredLabel("acme  drops", sentiment="negative", labeled_at=t0 + timedelta(hours=1), id=2),
        StoredLabel("Acme drops", topic=19, labeled_at=t0, id=3),
        StoredLabel("Other", sentiment="neutral", labeled_at=None, id=4),
        StoredLabel("Other", sentiment="positive", labeled_at=None, id=5),
    ]
    examples = {e.text.lower().replace("  ", " "): e for e in label_examples(labels)}
    assert examples["acme drops"].sentiment == 0 and examples["acme drops"].topic == 19
    assert examples["other"].sentiment == 2  # no times: the later insert wins


def test_training_set_excludes_gold_and_holdout_and_oversamples_labels() -> None:
    config = RetrainConfig(
        gold_size=40, replay_size=100, label_share=0.5, max_oversample=8, holdout_fraction=0.2
    )
    labels = _labels(50)
    ts = build_training_set(_base(), labels, config)
    train_texts = {e.text for e in ts.train}
    assert not train_texts & {e.text for e in ts.gold}
    assert not train_texts & {e.text for e in ts.holdout}
    n_label_train = ts.counts["labels_train"]["sentiment"]
    assert n_label_train + ts.counts["labels_holdout"]["sentiment"] == 50
    factor = ts.counts["oversample"]
    assert factor == min(8, -(-100 // n_label_train))  # ceil(0.5 * 100 / 0.5 / n)
    assert len(ts.train) == 100 + factor * n_label_train == ts.counts["train_total"]
    assert sum(ts.counts["replay"].values()) == 100


@pytest.mark.parametrize(("replay_size", "expected"), [(0, 360), (50, 50)])
def test_replay_cap(replay_size: int, expected: int) -> None:
    ts = build_training_set(_base(), [], RetrainConfig(gold_size=40, replay_size=replay_size))
    assert len(ts.train) == expected
    assert ts.counts["oversample"] == 0


def test_a_label_overrides_the_base_label_of_the_same_text() -> None:
    base = [Example("Acme drops", sentiment=2), *_base(50)]
    config = RetrainConfig(gold_size=2, replay_size=0, holdout_fraction=0.0)
    ts = build_training_set(base, [StoredLabel("Acme drops", sentiment="negative", id=1)], config)
    acme = [e for e in ts.train if e.text == "Acme drops"]
    assert acme and all(e.sentiment == 0 for e in acme)


def test_new_label_count_uses_the_cutoff() -> None:
    labels = _labels(10)
    cutoff = labels[6].labeled_at
    ts = build_training_set(_base(), labels, RetrainConfig(gold_size=10), new_since=cutoff)
    assert ts.counts["labels_new"] == 3
