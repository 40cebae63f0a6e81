"""Occlusion explanations with the real shipped model: the words it names are the ones that matter."""

from __future__ import annotations

import random
from typing import Any

import pytest

from finsent.models.explain import Unit, _without, explain, word_spans
from finsent.models.registry import DEFAULT_MODEL_DIR

TEXTS = [
    "Shares of Acme plunge after the company cuts its full-year profit forecast",
    "Regional bank stock soars as quarterly earnings beat estimates and dividend is raised",
    "Chipmaker warns of weak demand, shares tumble to a two-year low",
    "Retailer posts record holiday sales and lifts its outlook, stock jumps",
    "Airline misses revenue estimates as fuel costs surge and bookings slump",
    "Biotech rallies after regulators approve its flagship drug ahead of schedule",
]


@pytest.fixture(scope="module")
def clf() -> Any:
    from finsent.models import Classifier

    return Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="fp32")


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = _without(text, start, end)
    return text


def test_removing_the_top_words_moves_the_score_more_than_random_words(clf: Any) -> None:
    # 50 random draws per text: with 5, the random baseline alone moved the ratio between 1.8x
    # and 5.6x for one model (most texts are saturated, so two texts carry the mean)
    k, draws, rng = 2, 50, random.Random(13)
    variants: list[str] = []
    for text in TEXTS:
        top = [(w.start, w.end) for w in explain(clf, text, top_words=k).words]
        assert len(top) == k
        variants.append(_remove(text, top))
        for _ in range(draws):
            variants.append(_remove(text, rng.sample(word_spans(text), k)))
    base = [s.score for s in clf.predict(TEXTS)]
    moved = [s.score for s in clf.predict(variants)]
    top_moves, random_moves = [], []
    for i, b in enumerate(base):
        row = moved[i * (draws + 1) : (i + 1) * (draws + 1)]
        top_moves.append(abs(b - row[0]))
        random_moves.append(sum(abs(b - m) for m in row[1:]) / draws)
    assert sum(top_moves) / len(TEXTS) > 2 * sum(random_moves) / len(TEXTS)
    # and on most texts one by one (single-word occlusion is greedy: two synonyms can stand in for each other)
    assert sum(t > r for t, r in zip(top_moves, random_moves, strict=True)) > len(TEXTS) // 2


def test_the_negative_sentence_of_a_neutral_headline_article_is_named(clf: Any) -> None:
    from finsent.stream.rollup import rollup

    title = "Acme Corp reports quarterly results"
    body = (
        "Acme Corp published its results on Tuesday. "
        "Revenue fell 30% and the company warned of heavy losses and layoffs. "
        "The annual meeting is scheduled for next month."
    )
    units = [Unit(title, "title", 0, len(title))]
    start = 0
    for k, sentence in enumerate(body.split(". ")):
        sentence = sentence if sentence.endswith(".") else sentence + "."
        start = body.index(sentence, start)
        units.append(Unit(sentence, "body", start, start + len(sentence), k))
    result = explain(clf, units, rollup=rollup)
    assert result.sentiment == "negative" and result.method == "occlusion"
    strongest = min(result.sentences, key=lambda s: s.effect)
    assert strongest.field == "body" and "losses" in strongest.text and strongest.top
    assert body[strongest.start : strongest.end] == strongest.text
    named = [w for w in result.words if w.sentence == strongest.idx]
    assert named and all(body[w.start : w.end] == w.text for w in named)
    assert max(abs(w.weight) for w in result.words) == pytest.approx(1.0)
    data = result.to_dict()
    assert set(data) >= {
        "score",
        "sentiment",
        "sentiment_probs",
        "sentences",
        "words",
        "model_version",
        "backend",
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "U.S. shares fell 3.5% on Acme's Q3 profit-warning",
            ["U.S", "shares", "fell", "3.5%", "on", "Acme's"],
        ),
        ("$4.5bn deal -- done!", ["$4.5bn", "deal", "done"]),
        ("   ", []),
    ],
)
def test_word_spans(text: str, words: list[str]) -> None:
    assert [text[a:b] for a, b in word_spans(text)][: len(words)] == words


def test_several_units_need_a_rollup(clf: Any) -> None:
    with pytest.raises(ValueError, match="roll-up"):
        explain(clf, [Unit("a b", "body", 0, 3, 0), Unit("c d", "body", 4, 7, 1)])
