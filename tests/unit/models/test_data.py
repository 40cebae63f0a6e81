"""Dataset readers: formats, label maps, bad rows reported with line numbers, hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finsent.models.data import (
    data_fingerprint,
    read_csv,
    read_dataset,
    read_jsonl,
    read_phrasebank,
    read_twitter_financial_news,
)
from finsent.models.exceptions import DataFormatError


def test_twitter_sentiment_label_map(tmp_path: Path) -> None:
    f = tmp_path / "sentiment" / "train.csv"
    f.parent.mkdir()
    f.write_text('text,label\n"Stock falls, again",0\nStock rises,1\nMeeting today,2\n', encoding="utf-8")
    res = read_twitter_financial_news(f, "sentiment")
    assert [e.sentiment for e in res.examples] == [0, 2, 1]  # negative, positive, neutral
    assert res.bad_rows == []
    assert read_dataset(f).examples == res.examples  # auto-detected layout and task


@pytest.mark.parametrize(
    ("body", "bad_lines", "reasons"),
    [
        ("text,label\nok,1\n,2\nfine,7\n", [3, 4], ["empty text", "unknown topic label '7'"]),
        ("text,label\nok,\n   ,3\n", [2, 3], ["missing label", "empty text"]),
        ('text,label\n"multi\nline",1\nbad,xx\n', [4], ["unknown topic label 'xx'"]),
    ],
)
def test_csv_bad_rows_reported_with_line_numbers(
    tmp_path: Path, body: str, bad_lines: list[int], reasons: list[str]
) -> None:
    f = tmp_path / "d.csv"
    f.write_text(body.replace("7", "27"), encoding="utf-8")
    res = read_csv(f, "topic")
    assert [b.line for b in res.bad_rows] == bad_lines
    assert [b.reason for b in res.bad_rows] == [r.replace("'7'", "'27'") for r in reasons]
    assert all(e.topic is not None for e in res.examples)
    assert str(f) in res.report()


def test_csv_configurable_columns_and_map(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("id;headline;mood\n1;Up we go;bull\n2;Down;bear\n3;Meh;flat\n4;What;??\n", encoding="utf-8")
    res = read_csv(
        f,
        "sentiment",
        text_column="headline",
        label_column="mood",
        delimiter=";",
        label_map={"bull": "positive", "bear": "negative", "flat": "neutral"},
    )
    assert [e.sentiment for e in res.examples] == [2, 0, 1]
    assert [(b.line, b.reason) for b in res.bad_rows] == [(5, "unknown sentiment label '??'")]


def test_csv_missing_column_is_a_format_error(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("sentence,label\na,1\n", encoding="utf-8")
    with pytest.raises(DataFormatError):
        read_csv(f, "topic")


def test_jsonl_reader(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    lines = [
        json.dumps({"body": "Fed hikes", "y": "Fed / Central Banks"}),
        "{not json",
        json.dumps(["a", "list"]),
        "",
        json.dumps({"body": "Gold up", "y": 10}),
        json.dumps({"body": "", "y": 10}),
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = read_jsonl(f, "topic", text_field="body", label_field="y")
    assert [e.topic for e in res.examples] == [1, 10]
    assert [b.line for b in res.bad_rows] == [2, 3, 6]


def test_phrasebank_latin1(tmp_path: Path) -> None:
    f = tmp_path / "Sentences_AllAgree.txt"
    content = "Operating profit rose to EUR 13.1 mn .@positive\nThe CEO is J\xf6rg M\xfcller .@neutral\n"
    content += "no label here\nSales fell@negative\nOdd one@great\n"
    f.write_bytes(content.encode("latin-1"))
    res = read_phrasebank(f)
    assert [e.sentiment for e in res.examples] == [2, 1, 0]
    assert "Jörg Müller" in res.examples[1].text
    assert [b.line for b in res.bad_rows] == [3, 5]
    assert read_dataset(f).examples == res.examples


def test_fingerprint_changes_with_labels() -> None:
    from finsent.models.data import Example

    a = [Example("x", sentiment=0)]
    b = [Example("x", sentiment=2)]
    assert data_fingerprint(a) == data_fingerprint(list(a))
    assert data_fingerprint(a) != data_fingerprint(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=40), max_size=15))
def test_phrasebank_never_crashes_on_hostile_lines(tmp_path: Path, lines: list[str]) -> None:
    f = tmp_path / "pb.txt"
    f.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    res = read_phrasebank(f)
    assert len(res.examples) + len(res.bad_rows) <= len([ln for ln in lines for _ in ln.splitlines() or [ln]])
    for ex in res.examples:
        assert ex.text.strip() and ex.sentiment in (0, 1, 2)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=5)), max_size=15))
def test_csv_never_crashes_on_hostile_rows(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    import csv

    f = tmp_path / "h.csv"
    with f.open("w", encoding="utf-8", newline="", errors="surrogatepass") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    res = read_csv(f, "topic")
    for ex in res.examples:
        assert ex.text.strip() and ex.topic is not None and 0 <= ex.topic < 20
    assert all(b.line >= 2 for b in res.bad_rows)
