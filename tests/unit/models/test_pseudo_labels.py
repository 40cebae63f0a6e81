"""Self-training labels: a teacher fills only the labels a training text lacks, where it is confident."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE


def test_teacher_fills_missing_labels_where_confident_and_never_replaces_gold(classifier: Any) -> None:
    from finsent.models.data import EntityLabel, Example
    from finsent.models.pseudo_labels import add_pseudo_labels

    topic_only = [Example(t, topic=3) for t in POSITIVE + NEGATIVE]
    sentiment_only = [Example(t, sentiment=1) for t in NEUTRAL]
    entity_text = Example(
        "Acme jumps as Bolt slumps", entities=(EntityLabel(0, 4, 2), EntityLabel(14, 18, 0))
    )
    train_ex = [*topic_only, *sentiment_only, entity_text]
    teacher = classifier.predict([e.text for e in train_ex])
    threshold = sorted(max(s.sentiment_probs) for s in teacher[: len(topic_only)])[len(topic_only) // 2]

    out, added = add_pseudo_labels(train_ex, classifier.predict, threshold)

    assert [e.text for e in out] == [e.text for e in train_ex]
    assert [e.topic for e in out[: len(topic_only)]] == [3] * len(topic_only)  # gold kept
    assert [e.sentiment for e in out[len(topic_only) : -1]] == [1] * len(sentiment_only)
    assert out[-1] == entity_text  # entity-labeled texts are left alone
    for example, score in zip(out[: len(topic_only)], teacher[: len(topic_only)], strict=True):
        confident = max(score.sentiment_probs) >= threshold
        best = score.sentiment_probs.index(max(score.sentiment_probs))
        assert example.sentiment == (best if confident else None)
    filled = sum(e.sentiment is not None for e in out[: len(topic_only)])
    assert added["sentiment"] == filled and 0 < filled < len(topic_only)
    assert added["topic"] == sum(e.topic is not None for e in out[len(topic_only) : -1])


def test_threshold_outside_zero_one_is_refused(classifier: Any) -> None:
    from finsent.models.pseudo_labels import add_pseudo_labels

    with pytest.raises(ValueError, match="threshold"):
        add_pseudo_labels([], classifier.predict, 0.0)
