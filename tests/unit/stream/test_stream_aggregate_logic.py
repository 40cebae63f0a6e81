"""Pure aggregation maths: minute buckets and the Python reference recount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from finsent.storage.aggregates import ALL_TOPICS, expected_aggregates, minute_bucket

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ts", "bucket"),
    [
        (datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC), T),
        (datetime(2025, 3, 1, 12, 0, 59, 999999, tzinfo=UTC), T),
        (datetime(2025, 3, 1, 12, 1, 0, tzinfo=UTC), T + timedelta(minutes=1)),
        (datetime(2025, 3, 1, 17, 30, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))), T),
        (datetime(2025, 3, 1, 6, 0, 1, tzinfo=timezone(timedelta(hours=-6))), T),
    ],
)
def test_minute_bucket_is_the_utc_minute(ts: datetime, bucket: datetime) -> None:
    assert minute_bucket(ts) == bucket
    assert minute_bucket(ts).utcoffset() == timedelta(0)


def test_minute_bucket_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="time zone"):
        minute_bucket(datetime(2025, 1, 1))


def _score(
    article: str, version: str, topic: int, sentiment: str, score: float, sec: int, scored: int = 0
) -> dict:
    return {
        "article_id": article,
        "model_version": version,
        "topic": topic,
        "sentiment": sentiment,
        "score": score,
        "published_at": T + timedelta(seconds=sec),
        "scored_at": T + timedelta(hours=1, seconds=scored),
    }


@pytest.mark.parametrize(
    ("scores", "topics"),
    [
        # one article -> its topic row and the all-topics row
        (
            [_score("a", "v1", 3, "positive", 0.8, 5)],
            {(T, 3): (1, 0, 0, 1, 0.8), (T, ALL_TOPICS): (1, 0, 0, 1, 0.8)},
        ),
        # two versions of one article: only the latest counts (topic moves from 3 to 4)
        (
            [
                _score("a", "v1", 3, "positive", 0.8, 5, scored=0),
                _score("a", "v2", 4, "negative", -0.5, 5, scored=9),
            ],
            {(T, 4): (1, 1, 0, 0, -0.5), (T, ALL_TOPICS): (1, 1, 0, 0, -0.5)},
        ),
        # two articles in different minutes
        (
            [_score("a", "v1", 1, "neutral", 0.0, 5), _score("b", "v1", 1, "negative", -1.0, 65)],
            {
                (T, 1): (1, 0, 1, 0, 0.0),
                (T, ALL_TOPICS): (1, 0, 1, 0, 0.0),
                (T + timedelta(minutes=1), 1): (1, 1, 0, 0, -1.0),
                (T + timedelta(minutes=1), ALL_TOPICS): (1, 1, 0, 0, -1.0),
            },
        ),
        # same scored_at: the higher version id wins the tie
        (
            [_score("a", "v2", 2, "neutral", 0.1, 5), _score("a", "v1", 1, "neutral", 0.1, 5)],
            {(T, 2): (1, 0, 1, 0, 0.1), (T, ALL_TOPICS): (1, 0, 1, 0, 0.1)},
        ),
    ],
)
def test_topic_recount(scores: list[dict], topics: dict) -> None:
    got, _ = expected_aggregates(scores, {})
    assert got.keys() == topics.keys()
    for key, want in topics.items():
        assert got[key] == pytest.approx(want)


@pytest.mark.parametrize(
    ("article", "entities"),
    [
        (
            {"tickers": ["AAPL"], "entities": [{"ticker": "AAPL", "relevance": 0.5}]},
            {"AAPL": (1, 0, 0, 1, 0.8, 0.5, 0.4, 0, 0, 0.5)},
        ),
        (
            {"tickers": ["AAPL", "MSFT"], "entities": [{"ticker": "AAPL", "relevance": 0.25}]},
            {
                "AAPL": (1, 0, 0, 1, 0.8, 0.25, 0.2, 0, 0, 0.25),
                "MSFT": (1, 0, 0, 1, 0.8, 1.0, 0.8, 0, 0, 1.0),
            },
        ),
        ({"tickers": [], "entities": []}, {}),
    ],
)
def test_entity_recount_weights_by_relevance(article: dict, entities: dict) -> None:
    _, got = expected_aggregates([_score("a", "v1", 3, "positive", 0.8, 5)], {"a": article})
    by_entity = {k[1]: v for k, v in got.items()}
    assert by_entity.keys() == entities.keys()
    for entity, want in entities.items():
        assert by_entity[entity] == pytest.approx(want)
