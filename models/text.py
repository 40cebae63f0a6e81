"""How an article becomes the one text the classifier scores."""

from __future__ import annotations

import html
import re

__all__ = ["LEAD_CHARS", "compose_text", "normalize_text"]

#: Characters of the body kept after the title (about two sentences of a news lead).
LEAD_CHARS = 300

_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def compose_text(title: str | None, body: str | None = None, *, lead_chars: int = LEAD_CHARS) -> str:
    """Text to score for an article: the title followed by the lead of the body.

    The models are trained on headline-length texts, and a news lead states the gist, so
    title + lead (the first ``lead_chars`` characters of the body, cut back to the last
    sentence end or word boundary) scores long articles like headlines, cheaply. The title is
    separated by ``". "`` unless it already ends in punctuation. A body that merely repeats the
    title is not repeated.

    Args:
        title: Headline (may be empty or None).
        body: Article text (may be empty or None).
        lead_chars: Longest lead kept from the body.

    Returns:
        The composed text, whitespace-normalised; empty when both parts are empty.
    """
    head = _SPACE.sub(" ", title or "").strip()
    text = _SPACE.sub(" ", body or "").strip()
    if head and text.startswith(head):
        text = text[len(head) :].lstrip(" .:-")
    lead = _lead(text, lead_chars)
    if not head:
        return lead
    if not lead:
        return head
    sep = " " if head[-1] in ".!?:;" else ". "
    return f"{head}{sep}{lead}"


def _lead(text: str, lead_chars: int) -> str:
    if len(text) <= lead_chars:
        return text
    cut = text[:lead_chars]
    ends = [m.start() for m in _SENTENCE_END.finditer(cut + " ")]
    if ends and ends[-1] >= lead_chars // 3:
        return cut[: ends[-1]].strip()
    space = cut.rfind(" ")
    return (cut[:space] if space > lead_chars // 3 else cut).strip()


_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def normalize_text(text: str) -> str:
    """The form the models see: HTML entities decoded, links removed, whitespace collapsed.

    Shortened links (``https://t.co/...``) carry no topic or sentiment but cost about ten
    tokens each; the same normalisation is applied in training and at inference.
    """
    return _SPACE.sub(" ", _URL.sub(" ", html.unescape(text))).strip()
