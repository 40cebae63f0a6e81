"""Record schemas: round trips, and every kind of bad message raises SchemaError with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finsent.core.errors import BadDataError
from finsent.core.records import (
    AlertRecord,
    ArticleRecord,
    Record,
    SchemaError,
    ScoredArticleRecord,
    decode,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _article(**overrides: Any) -> dict[str, Any]:
    data = ArticleRecord(
        id="a1",
        source_id="s",
        title="Acme beats",
        published_at=T0,
        fetched_at=T0,
        content_hash="h",
        emitted_at=T0,
    ).model_dump(mode="json")
    return data | overrides


def _scored() -> ScoredArticleRecord:
    return ScoredArticleRecord(
        article_id="a1",
        source_id="s",
        title="t",
        published_at=T0,
        emitted_at=T0,
        scored_at=T0,
        model_version="v1",
        topic=2,
        topic_label="Earnings",
        topic_probs=[0.05] * 20,
        sentiment="positive",
        sentiment_probs=[0.1, 0.2, 0.7],
        score=0.6,
        confidence=0.7,
    )


def _alert() -> AlertRecord:
    return AlertRecord(
        alert_id=1,
        event="opened",
        rule_id="r",
        rule_kind="surge",
        scope_kind="topic",
        scope_value="2",
        severity="warning",
        value=3.0,
        window_start=T0,
        window_end=T0,
        at=T0,
    )


@pytest.mark.parametrize("record", [ArticleRecord.model_validate(_article()), _scored(), _alert()])
def test_records_round_trip_through_bytes(record: Record) -> None:
    assert type(record).from_bytes(record.to_bytes()) == record
    assert decode(record.to_bytes()) == record


def test_timestamps_are_normalised_to_utc() -> None:
    raw = json.dumps(_article(published_at="2026-01-02T05:04:05+02:00"))
    assert ArticleRecord.from_bytes(raw).published_at == T0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (json.dumps(_article(v=2)), "unsupported schema version 2"),
        (json.dumps(_article(v=None)), "unsupported schema version None"),
        (json.dumps(_article(surprise="x")), "surprise"),
        (json.dumps(_article(published_at="2026-01-02T03:04:05")), "time zone"),
        (json.dumps(_article(title="   ")), "title is blank"),
        (json.dumps(_article(id="")), "id"),
        (json.dumps(_article(kind="alert")), "expected kind 'article'"),
        (json.dumps({k: v for k, v in _article().items() if k != "content_hash"}), "content_hash"),
        ('{"kind": "article", "v": 1', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (None, "tombstone"),
    ],
)
def test_bad_article_messages_raise_schema_error_with_reason(raw: str | bytes | None, reason: str) -> None:
    with pytest.raises(SchemaError, match="article") as info:
        ArticleRecord.from_bytes(raw)
    assert reason in str(info.value)
    assert isinstance(info.value, BadDataError)  # consumers dead-letter it


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (json.dumps({"kind": "horoscope", "v": 1}), "unknown message kind 'horoscope'"),
        (json.dumps({"v": 1}), "unknown message kind None"),
        ("not json", "not valid JSON"),
        (None, "unknown message kind None"),
        (json.dumps(_article(v=7)), "unsupported schema version 7"),
    ],
)
def test_decode_names_the_problem(raw: str | None, reason: str) -> None:
    with pytest.raises(SchemaError) as info:
        decode(raw)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("score", 1.5), ("sentiment", "ecstatic"), ("sentiment_probs", [0.5, 0.5]), ("topic", -1)],
)
def test_scored_record_rejects_out_of_range_values(field: str, value: object) -> None:
    data = _scored().model_dump(mode="json") | {field: value}
    with pytest.raises(SchemaError, match=field):
        ScoredArticleRecord.from_bytes(json.dumps(data))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_escape_as_anything_but_schema_error(raw: bytes) -> None:
    try:
        decoded = decode(raw)
    except SchemaError:
        return
    assert isinstance(decoded, Record)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)


@settings(max_examples=75, deadline=None)
@given(
    st.sampled_from(["article", "scored_article", "alert", "other"]),
    st.sampled_from([1, 2, "1", None]),
    st.dictionaries(st.sampled_from([*_article(), "extra"]), _json_values, max_size=8),
)
def test_hostile_json_objects_never_escape_as_anything_but_schema_error(
    kind: str, version: object, fields: dict[str, Any]
) -> None:
    raw = json.dumps(fields | {"kind": kind, "v": version})
    try:
        decode(raw)
    except SchemaError as exc:
        assert str(exc)
