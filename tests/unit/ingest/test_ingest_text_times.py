"""Text clean-up, language detection and publication times."""

from __future__ import annotations

import time
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from finsent.ingest.text import clean_text, detect_language, lead
from finsent.ingest.times import parse_time, published_or_estimated


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Apple &amp; Google", "Apple & Google"),
        ("AT&amp;amp;T shares rise", "AT&T shares rise"),
        ("<p>Shares <b>fell</b> 5%</p><p>today</p>", "Shares fell 5% today"),
        ("Hello<script>alert('x')</script> world", "Hello world"),
        ("<style>p{color:red}</style>Body", "Body"),
        ("  many\t\tspaces \n\n and\r\nlines  ", "many spaces and lines"),
        ("caf\u0065\u0301", "caf\u00e9"),  # NFD -> NFC
        ("zero\u200bwidth\u00adsoft", "zerowidthsoft"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("non\u00a0breaking", "non breaking"),
        ("&lt;b&gt;not a tag&lt;/b&gt;", "not a tag"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("&#36;TSLA &#x24;AAPL", "$TSLA $AAPL"),
        (None, ""),
        (b"bytes \xff body", "bytes \ufffd body"),
        (42, "42"),
    ],
)
def test_clean_text(raw: object, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_output_is_nfc_and_limited() -> None:
    out = clean_text("word " * 1000, limit=100)
    assert len(out) <= 100 and not out.endswith(" ")
    assert unicodedata.is_normalized("NFC", clean_text("e\u0301" * 10))


def test_lead_cuts_at_a_sentence() -> None:
    body = "First sentence here. " * 5 + "x" * 500
    assert lead(body, 100).endswith(".")
    assert len(lead(body, 100)) <= 100
    assert lead("short", 100) == "short"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Apple shares fall after weak iPhone sales in China, analysts cut targets", "en"),
        ("Les actions d'Apple chutent après de faibles ventes en Chine", "fr"),
        ("Die Aktie von Apple fällt nach schwachen Verkäufen in China", "de"),
        ("Las acciones de Apple caen tras las débiles ventas en China", "es"),
        ("1234 5678 $$$", "unknown"),
        ("", "unknown"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_is_deterministic() -> None:
    text = "Oil prices steady as traders weigh supply"
    assert len({detect_language(text) for _ in range(5)}) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T13:45:00Z", datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        ("2024-05-01T15:45:00+02:00", datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        ("2024-05-01 13:45:00", datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        ("Wed, 01 May 2024 09:45:00 -0400", datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        ("Wed, 01 May 2024 13:45:00 GMT", datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        (1714571100, datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        (1714571100000, datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        ("1714571100", datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        (time.gmtime(1714571100), datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        (datetime(2024, 5, 1, 13, 45), datetime(2024, 5, 1, 13, 45, tzinfo=UTC)),
        (
            datetime(2024, 5, 1, 8, 45, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2024, 5, 1, 13, 45, tzinfo=UTC),
        ),
        ("yesterday", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        (1e30, None),
        ([2024, 5, 1], None),
        ("x" * 500, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("value", "estimated"),
    [
        ("2024-05-01T13:45:00Z", False),
        (None, True),
        ("garbage", True),
        ("1970-01-02T00:00:00Z", True),  # absurdly old
        ("2099-01-01T00:00:00Z", True),  # far future
    ],
)
def test_missing_or_absurd_times_fall_back_to_fetch_time(value: object, estimated: bool) -> None:
    fetched = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    published, flag = published_or_estimated(value, fetched)
    assert flag is estimated
    assert (published == fetched) is estimated
    assert published.tzinfo is not None and published.utcoffset() == timedelta(0)
