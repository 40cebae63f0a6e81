"""Decoding raw-article batches and building dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finsent.core.records import ArticleRecord
from finsent.stream.messages import MAX_REASON_CHARS, DeadLetter, InboundMessage, decode_batch
from finsent.stream.topics import DLQ_HEADERS

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _article(article_id: str, title: str = "Apple beats estimates") -> bytes:
    return ArticleRecord(
        id=article_id, source_id="s", title=title, published_at=T0, fetched_at=T0, content_hash="h"
    ).to_bytes()


def _msg(value: bytes | None, offset: int = 0, partition: int = 0) -> InboundMessage:
    return InboundMessage("raw", partition, offset, b"k", value)


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"kind": "alert", "v": 1}', "expected kind 'article'"),
        (b'{"kind": "article", "v": 9}', "unsupported schema version"),
        (b'{"kind": "article", "v": 1, "id": "x"}', "Field required"),
        (None, "tombstone"),
        (b"\xff\xfe\x00", "not valid JSON"),
    ],
)
def test_schema_failures_become_dead_letters_with_reason(value: bytes | None, reason_part: str) -> None:
    decoded, dead = decode_batch([_msg(_article("good")), _msg(value, offset=1)])
    assert [r.id for _, r in decoded] == ["good"]
    assert len(dead) == 1
    assert dead[0].error_type == "SchemaError"
    assert reason_part in dead[0].error
    assert dead[0].message.offset == 1


def test_duplicate_ids_in_one_batch_keep_the_last_occurrence_in_order() -> None:
    batch = [_msg(_article("a", "first"), 0), _msg(_article("b"), 1), _msg(_article("a", "second"), 2)]
    decoded, dead = decode_batch(batch)
    assert dead == []
    assert [(m.offset, r.id, r.title) for m, r in decoded] == [
        (1, "b", "Apple beats estimates"),
        (2, "a", "second"),
    ]


def test_dead_letter_headers_name_error_and_origin() -> None:
    letter = DeadLetter.of(InboundMessage("fin.raw", 3, 42, b"key", b"payload"), ValueError("boom"))
    headers = dict(letter.headers())
    assert tuple(headers) == DLQ_HEADERS
    assert headers == {
        "error_type": b"ValueError",
        "error": b"boom",
        "source_topic": b"fin.raw",
        "partition": b"3",
        "offset": b"42",
    }
    out = letter.outbound()
    assert (out.key, out.value) == (b"key", b"payload")


def test_dead_letter_reason_is_bounded_and_never_empty() -> None:
    long = DeadLetter.of(_msg(b"x"), RuntimeError("y" * 10_000))
    assert len(dict(long.headers())["error"]) == MAX_REASON_CHARS
    empty = DeadLetter.of(_msg(b"x"), RuntimeError())
    assert empty.error == "RuntimeError"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.binary(max_size=200), st.text(max_size=200).map(str.encode)), max_size=20
    )
)
def test_hostile_bytes_are_either_decoded_or_dead_lettered(values: list[bytes | None]) -> None:
    messages = [_msg(v, offset=i) for i, v in enumerate(values)]
    decoded, dead = decode_batch(messages)
    assert len(decoded) + len(dead) <= len(messages)
    assert len(dead) == len(messages)  # none of these is a valid article
    assert all(d.error for d in dead)
