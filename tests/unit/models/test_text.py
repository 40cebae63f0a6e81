"""compose_text (title + lead) and the normalisation shared by training and inference."""

from __future__ import annotations

import pytest

from finsent.models import compose_text, normalize_text


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("Apple beats estimates", None, "Apple beats estimates"),
        ("Apple beats estimates", "", "Apple beats estimates"),
        (None, "Body only.", "Body only."),
        ("Title", "First sentence. Second.", "Title. First sentence. Second."),
        ("Title?", "Lead.", "Title? Lead."),
        ("  Spaced   title ", "  lead\n\ntext ", "Spaced title. lead text"),
        ("Same", "Same. Then more.", "Same. Then more."),
        (None, None, ""),
    ],
)
def test_compose_text(title: str | None, body: str | None, expected: str) -> None:
    assert compose_text(title, body) == expected


def test_compose_text_keeps_only_the_lead() -> None:
    body = " ".join(f"Sentence number {i} of the article." for i in range(200))
    text = compose_text("Title", body, lead_chars=120)
    assert text.startswith("Title. Sentence number 0")
    assert len(text) <= len("Title. ") + 120
    assert text.endswith(".")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Stocks up https://t.co/abc123", "Stocks up"),
        ("AT&amp;T results  www.example.com/x  today", "AT&T results today"),
        ("$TSLA\tjumps\n", "$TSLA jumps"),
        ("https://t.co/x", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected
