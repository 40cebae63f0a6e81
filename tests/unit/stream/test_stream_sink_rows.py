"""The sink's entity and sentence rows: one row per entity, document rows for uncovered tickers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from finsent.core.records import ArticleRecord, EntityMention
from finsent.models import Score
from finsent.stream.messages import InboundMessage
from finsent.stream.results import EntityResult, SentenceResult
from finsent.stream.sink import ScoredItem, entity_rows, sentence_rows

T = datetime(2025, 1, 1, tzinfo=UTC)


def _item(entities: list[EntityResult], sentences: list[SentenceResult] = ()) -> ScoredItem:  # type: ignore[assignment]
    record = ArticleRecord(
        id="a1",
        source_id="s",
        title="AAA beats, BBB misses",
        body="AAA did well.",
        published_at=T,
        fetched_at=T,
        content_hash="h",
        tickers=["AAA", "CCC", "AAA"],
        entities=[EntityMention(ticker="BBB", relevance=0.3), EntityMention(ticker="BBB", relevance=0.6)],
    )
    score = Score(2, "Earnings", [0.05] * 20, "negative", [0.7, 0.2, 0.1], -0.6, 0.7, "v9")
    return ScoredItem(InboundMessage("raw", 0, 1, b"a1", b""), record, score, list(entities), list(sentences))


def _entity(ticker: str, relevance: float) -> EntityResult:
    return EntityResult(ticker, None, relevance, "positive", [0.1, 0.2, 0.7], 0.6, 0.7, "entity", True, 2)


def test_every_ticker_and_mention_gets_exactly_one_row() -> None:
    rows = {r["entity"]: r for r in entity_rows(_item([_entity("AAA", 0.9)]), T)}
    assert sorted(rows) == ["AAA", "BBB", "CCC"]
    assert (rows["AAA"]["source"], rows["AAA"]["score"], rows["AAA"]["in_title"]) == ("entity", 0.6, True)
    assert (rows["BBB"]["source"], rows["BBB"]["score"], rows["BBB"]["relevance"]) == ("document", -0.6, 0.6)
    assert (rows["CCC"]["relevance"], rows["CCC"]["sentiment"], rows["CCC"]["mentions"]) == (
        1.0,
        "negative",
        0,
    )
    assert {r["model_version"] for r in rows.values()} == {"v9"}


@pytest.mark.parametrize(
    ("relevance", "stored"), [(1.5, 1.0), (-0.2, 0.0), (float("nan"), 0.0), (0.25, 0.25)]
)
def test_relevance_is_clamped_into_the_columns_range(relevance: float, stored: float) -> None:
    rows = {r["entity"]: r for r in entity_rows(_item([_entity("AAA", relevance)]), T)}
    assert rows["AAA"]["relevance"] == stored


def test_sentence_rows_carry_spans_and_keep_nul_visible() -> None:
    s = SentenceResult(0, 0, 13, "AAA did\x00 well.", "positive", [0.1, 0.2, 0.7], 0.6, 0.7)
    (row,) = sentence_rows(_item([], [s]))
    assert (row["idx"], row["char_start"], row["char_end"], row["model_version"]) == (0, 0, 13, "v9")
    assert row["text"] == "AAA did\\x00 well."
    assert sentence_rows(_item([])) == []
