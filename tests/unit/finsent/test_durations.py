"""finsent's one duration syntax: table-driven cases, then hostile text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from finsent.core.durations import Duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("90s", timedelta(seconds=90)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1.5h", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        (" 15 m ", timedelta(minutes=15)),
        ("+10m", timedelta(minutes=10)),
        ("-5m", timedelta(minutes=-5)),
        ("0s", timedelta(0)),
        (timedelta(seconds=3), timedelta(seconds=3)),
    ],
)
def test_parse_duration_reads(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("8", "'8' has no unit: write 8s or 8m"),
        (8, "'8' has no unit: write 8s or 8m"),
        (0.5, "'0.5' has no unit: write 0.5s or 0.5m"),
        ("", "expected a duration"),
        ("m", "expected a duration"),
        ("5 minutes", "expected a duration"),
        ("5M", "expected a duration"),
        ("1h30m", "expected a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([5], "expected a duration"),
    ],
)
def test_parse_duration_rejects(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=15), "15m"),
        (timedelta(seconds=90), "90s"),
        (timedelta(hours=1), "1h"),
        (timedelta(days=14), "2w"),
        (timedelta(milliseconds=250), "250ms"),
    ],
)
def test_format_duration_is_the_shortest_exact_text(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


@given(st.text(max_size=40))
def test_hostile_text_is_a_duration_or_a_value_error(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert str(exc)  # every rejection says why
    else:
        assert isinstance(value, timedelta)


@given(
    st.from_regex(r"\A[ +-]?[0-9]{1,400}(\.[0-9]{0,30})?[ ]?(ms|s|m|h|d|w)?[ ]?\Z"),
)
def test_number_like_text_never_raises_anything_but_value_error(text: str) -> None:
    # Huge numbers overflow timedelta: that, too, must be a ValueError naming the text.
    try:
        parse_duration(text)
    except ValueError as exc:
        assert text.strip() in str(exc) or "expected a duration" in str(exc)


@given(st.integers(min_value=0, max_value=10**9))
def test_milliseconds_survive_a_round_trip(ms: int) -> None:
    value = timedelta(milliseconds=ms)
    assert parse_duration(format_duration(value)) == value


class _Model(BaseModel):
    wait: Duration


def test_duration_fields_read_text_and_show_it_again() -> None:
    model = _Model.model_validate({"wait": "5m"})
    assert model.wait == timedelta(minutes=5)
    assert model.model_dump(mode="json") == {"wait": "5m"}
    with pytest.raises(ValidationError, match="no unit"):
        _Model.model_validate({"wait": 300})
