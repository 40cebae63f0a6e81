"""Label validation and label files: good rows kept, bad rows reported by line, never half-stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finsent.lifecycle import LabelError, read_label_file, validate_label
from finsent.models.exceptions import DataFormatError


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"text": "Oil jumps", "sentiment": "Bullish"}, ("Oil jumps", None, "positive")),
        ({"text": " Oil jumps ", "topic": "6"}, ("Oil jumps", 6, None)),
        ({"text": "x", "topic": "earnings", "sentiment": "neg"}, ("x", 5, "negative")),
        ({"text": "x", "topic": 19, "sentiment": "NEUTRAL"}, ("x", 19, "neutral")),
        ({"article_id": "a1", "sentiment": "bearish"}, (None, None, "negative")),
    ],
)
def test_valid_labels_are_canonical(data: dict[str, object], expected: tuple[object, ...]) -> None:
    row = validate_label(data, default_by="ann")
    assert (row.text, row.topic, row.sentiment) == expected
    assert row.labeled_by == "ann"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"text": "x"}, "nothing to learn"),
        ({"text": "   ", "sentiment": "positive"}, "empty text"),
        ({"text": "x", "topic": "20"}, "unknown topic"),
        ({"text": "x", "topic": True}, "unknown topic"),
        ({"text": "x", "sentiment": "very good"}, "unknown sentiment"),
        ({"text": "x", "sentiment": 2}, "unknown sentiment"),
        ({"text": "x" * 10_001, "sentiment": "positive"}, "longer than"),
        ({"text": "x", "sentiment": "positive", "labeled_at": "yesterday"}, "ISO-8601"),
        ({"text": ["x"], "sentiment": "positive"}, "must be a string"),
        ({"text": "x", "sentiment": "positive", "labeled_by": "a\nb"}, "printable"),
    ],
)
def test_invalid_labels_say_why(data: dict[str, object], reason: str) -> None:
    with pytest.raises(LabelError, match=reason):
        validate_label(data, default_by="ann")


def test_who_is_required() -> None:
    with pytest.raises(LabelError, match="labeled_by"):
        validate_label({"text": "x", "sentiment": "positive"})
    row = validate_label({"text": "x", "sentiment": "positive", "labeled_by": "bob"}, default_by="ann")
    assert row.labeled_by == "bob"


def test_labeled_at_is_parsed_as_utc() -> None:
    row = validate_label(
        {"text": "x", "sentiment": "positive", "labeled_at": "2025-03-01T10:00:00"}, default_by="a"
    )
    assert row.labeled_at == datetime(2025, 3, 1, 10, tzinfo=UTC)


def test_csv_with_bad_rows_keeps_good_rows_and_reports_lines(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "text,topic,sentiment,labeled_by\n"
        "Acme soars on deal,13,positive,ann\n"  # line 2 ok
        "Acme dips,,sideways,ann\n"  # line 3 bad sentiment
        '"A headline that\nspans two lines",,negative,\n'  # lines 4-5 ok (default by)
        ",5,negative,ann\n"  # line 6 no text
        "\n"
        "Fed holds rates,1,neutral,bob,extra\n",  # line 8 too many fields
        encoding="utf-8",
    )
    result = read_label_file(path, default_by="importer")
    assert [r.text for r in result.rows] == ["Acme soars on deal", "A headline that\nspans two lines"]
    assert [r.line for r in result.rows] == [2, 4]
    assert result.rows[1].labeled_by == "importer"
    assert [(b.line, b.reason.split(" ")[0]) for b in result.bad_rows] == [
        (3, "unknown"),
        (6, "empty"),
        (8, "5"),
    ]
    assert "labels.csv:3: unknown sentiment 'sideways'" in result.report()


def test_jsonl_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    lines = [
        json.dumps({"text": "Gold rallies", "topic": "Gold / Metals / Materials", "labeled_by": "ann"}),
        "{not json",
        json.dumps(["a", "list"]),
        "",
        json.dumps({"text": "Bank fined", "sentiment": "negative", "topic": 12, "labeled_by": "ann"}),
        json.dumps({"text": "Bank fined", "labeled_by": "ann"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_label_file(path)
    assert [(r.line, r.topic, r.sentiment) for r in result.rows] == [(1, 10, None), (5, 12, "negative")]
    assert [b.line for b in result.bad_rows] == [2, 3, 6]
    assert "invalid JSON" in result.bad_rows[0].reason


def test_invalid_utf8_rejects_only_its_row(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b"\xef\xbb\xbftext,sentiment\nfine,positive\nbad \xff byte,negative\n")
    result = read_label_file(path, default_by="a")
    assert [r.text for r in result.rows] == ["fine"]
    assert [(b.line, b.reason) for b in result.bad_rows] == [(3, "not valid UTF-8")]


@pytest.mark.parametrize("content", ["", "text,label\nx,positive\n", "a;b;c\n"])
def test_file_without_label_columns_is_a_format_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(content, encoding="utf-8")
    if content:
        with pytest.raises(DataFormatError, match="header"):
            read_label_file(path, default_by="a")
    else:
        assert read_label_file(path, default_by="a").rows == []


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file"):
        read_label_file(tmp_path / "nope.csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400))
def test_hostile_csv_bodies_never_crash(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(b"text,topic,sentiment,labeled_by\n" + body)
    result = read_label_file(path, default_by="a")
    # Every row is accounted for: either stored or reported, each with a positive line number.
    assert all(r.line >= 2 for r in result.rows)
    assert all(b.line >= 2 for b in result.bad_rows)
    assert all(r.topic is not None or r.sentiment is not None for r in result.rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=60),
            st.builds(
                json.dumps,
                st.dictionaries(
                    st.sampled_from(["text", "topic", "sentiment", "labeled_by", "article_id", "labeled_at"]),
                    st.one_of(
                        st.none(), st.integers(-5, 30), st.text(max_size=20), st.booleans(), st.floats()
                    ),
                ),
            ),
        ),
        max_size=12,
    )
)
def test_hostile_jsonl_never_crashes(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(x.replace("\n", " ").replace("\r", " ") for x in lines), encoding="utf-8")
    result = read_label_file(path, default_by="a")
    assert len(result.rows) + len(result.bad_rows) <= len(lines)
