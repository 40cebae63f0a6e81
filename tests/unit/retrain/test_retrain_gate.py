"""The promotion gate: gold not worse by more than the margin AND better (not by luck) on held-out labels."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from finsent.lifecycle import RetrainConfig, SetEval, decide, evaluate_set
from finsent.lifecycle.gate import sign_test_p
from finsent.models.data import Example
from finsent.models.inference import Score
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS


def _set(macro: dict[str, float], correct: Sequence[bool]) -> SetEval:
    return SetEval(tasks={t: {"macro_f1": v} for t, v in macro.items()}, correct=list(correct))


GOLD = {"topic": 0.80, "sentiment": 0.75}


@pytest.mark.parametrize(
    ("gold_after", "before", "after", "promote", "why"),
    [
        ({"topic": 0.79, "sentiment": 0.76}, [False] * 20, [True] * 20, True, "promoted"),
        ({"topic": 0.77, "sentiment": 0.75}, [False] * 20, [True] * 20, False, "gold topic"),
        ({"topic": 0.80, "sentiment": 0.70}, [False] * 20, [True] * 20, False, "gold sentiment"),
        (GOLD, [True] * 20, [True] * 20, False, "not better"),
        (GOLD, [True] * 10 + [False] * 10, [False] * 9 + [True] * 11, False, "not significant"),
        (GOLD, [False] * 5, [True] * 5, False, "only 5 held-out"),
    ],
)
def test_gate(
    gold_after: dict[str, float], before: list[bool], after: list[bool], promote: bool, why: str
) -> None:
    config = RetrainConfig(gold_margin=0.02, min_holdout=10, significance=0.1)
    d = decide(_set(GOLD, []), _set(gold_after, []), _set({}, before), _set({}, after), config)
    assert d.promote is promote
    assert why in d.reason
    assert d.reason.startswith("promoted" if promote else "kept as candidate")


@pytest.mark.parametrize(
    ("wins", "losses", "expected"),
    [(0, 0, 1.0), (1, 0, 0.5), (5, 0, 1 / 32), (3, 3, 0.65625), (0, 4, 1.0)],
)
def test_sign_test(wins: int, losses: int, expected: float) -> None:
    assert sign_test_p(wins, losses) == pytest.approx(expected)


def _score(topic: int, sentiment: int) -> Score:
    tp = [0.01] * 20
    tp[topic] = 0.81
    sp = [0.1, 0.1, 0.1]
    sp[sentiment] = 0.8
    return Score(topic, TOPIC_LABELS[topic], tp, SENTIMENT_LABELS[sentiment], sp, sp[2] - sp[0], 0.8, "v")


def test_evaluate_set_scores_each_task_on_its_own_examples() -> None:
    examples = [
        Example("a", topic=3),
        Example("b", topic=4, sentiment=0),
        Example("c", sentiment=2),
        Example("d", sentiment=1),
    ]
    answers = {"a": _score(3, 1), "b": _score(5, 0), "c": _score(0, 2), "d": _score(0, 0)}
    result, scores = evaluate_set(lambda texts: [answers[t] for t in texts], examples)
    assert [s.topic for s in scores] == [3, 5, 0, 0]
    assert result.tasks["topic"]["n"] == 2 and result.tasks["topic"]["accuracy"] == 0.5
    assert result.tasks["sentiment"]["n"] == 3
    assert result.tasks["sentiment"]["accuracy"] == pytest.approx(2 / 3)
    assert result.correct == [True, False, True, True, False]
    assert set(result.tasks["sentiment"]["per_class"]) == {"negative", "neutral", "positive"}


def test_evaluate_empty_set() -> None:
    result, scores = evaluate_set(lambda texts: [], [])
    assert result.correct == [] and result.accuracy == 0.0 and scores == []
