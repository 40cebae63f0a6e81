"""ModelRunner: batches off the event loop, bisection isolates poison records, broken models crash."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from finsent.core.errors import BadDataError
from finsent.models.inference import Score
from finsent.stream.exceptions import ModelBrokenError, StreamError
from finsent.stream.inference import CANARY_TEXT, ModelRunner


class FakeClassifier:
    """Fails on texts containing a marker; records calls and the thread they ran on."""

    def __init__(self, version: str = "v1", *, fail_all: bool = False, short: bool = False) -> None:
        self.version = version
        self.fail_all = fail_all
        self.short = short
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def predict(self, texts: Sequence[str]) -> list[Score]:
        self.calls.append(len(texts))
        self.threads.add(threading.current_thread().name)
        if self.fail_all:
            raise RuntimeError("weights corrupted")
        for t in texts:
            if "EMPTY" in t:
                raise BadDataError("empty text")
            if "POISON" in t:
                raise ValueError(f"cannot tokenise {t!r}")
        n = len(texts) - 1 if self.short else len(texts)
        return [
            Score(len(t) % 20, "x", [0.05] * 20, "neutral", [0.2, 0.6, 0.2], 0.0, 0.6, self.version)
            for t in texts[:n]
        ]


@pytest.mark.parametrize(
    ("texts", "bad"),
    [
        (["a", "b", "c", "d"], set()),
        (["POISON"], {0}),
        (["a", "POISON b", "c", "d", "e", "f", "g"], {1}),
        (["POISON", "b", "c", "d", "e", "f", "g", "POISON h"], {0, 7}),
        (["a", "EMPTY", "c"], {1}),
        (["POISON"] * 5, {0, 1, 2, 3, 4}),
    ],
)
def test_predict_isolating_scores_good_texts_and_isolates_bad_ones(texts: list[str], bad: set[int]) -> None:
    clf = FakeClassifier()
    results = asyncio.run(ModelRunner(clf).predict_isolating(texts))
    assert len(results) == len(texts)
    assert {i for i, r in enumerate(results) if isinstance(r, Exception)} == bad
    assert all(
        not isinstance(r, Exception) and r.model_version == "v1"
        for i, r in enumerate(results)
        if i not in bad
    )


def test_inference_runs_on_one_dedicated_thread() -> None:
    clf = FakeClassifier()
    runner = ModelRunner(clf)

    async def many() -> None:
        await asyncio.gather(*(runner.predict([f"t{i}"]) for i in range(8)))

    asyncio.run(many())
    runner.close()
    assert len(clf.threads) == 1
    assert next(iter(clf.threads)).startswith("finsent-inference")
    assert threading.current_thread().name not in clf.threads


def test_one_poison_record_costs_logarithmic_extra_calls() -> None:
    clf = FakeClassifier()
    texts = [f"t{i}" for i in range(64)]
    texts[37] = "POISON"
    asyncio.run(ModelRunner(clf).predict_isolating(texts))
    # 1 failed full batch + 2 calls per halving level (6 levels) + 1 canary check.
    assert len(clf.calls) <= 1 + 2 * 6 + 1
    assert sum(clf.calls) < 3 * 64


def test_model_failing_on_the_canary_is_broken_not_bad_data() -> None:
    clf = FakeClassifier(fail_all=True)
    with pytest.raises(ModelBrokenError, match="known-good text"):
        asyncio.run(ModelRunner(clf).predict_isolating(["a", "b"]))
    assert clf.calls[-1] == 1  # the canary


def test_bad_data_error_needs_no_canary() -> None:
    clf = FakeClassifier()
    asyncio.run(ModelRunner(clf).predict_isolating(["EMPTY"]))
    assert clf.calls == [1]


def test_wrong_number_of_scores_is_a_bug_not_bad_data() -> None:
    with pytest.raises(StreamError, match="returned 1 scores for 2 texts"):
        asyncio.run(ModelRunner(FakeClassifier(short=True)).predict_isolating(["a", "b"]))


def test_load_swaps_the_model_between_batches() -> None:
    runner = ModelRunner()
    assert runner.version is None
    with pytest.raises(StreamError):
        asyncio.run(runner.predict(["a"]))

    async def go() -> list[str]:
        await runner.load(lambda: FakeClassifier("v1"))
        first = await runner.predict(["a"])
        await runner.load(lambda: FakeClassifier("v2"))
        second = await runner.predict(["a"])
        return [first[0].model_version, second[0].model_version]

    assert asyncio.run(go()) == ["v1", "v2"]
    assert runner.version == "v2"
    assert CANARY_TEXT.strip()
