"""Text clean-up: HTML tags and entities stripped, Unicode NFC, whitespace collapsed; language."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import ftfy

from finsent.ingest.language import detect_language

__all__ = ["MAX_BODY_CHARS", "MAX_TITLE_CHARS", "clean_text", "detect_language", "lead"]

#: Longest title and body kept (longer text is cut at a word boundary).
MAX_TITLE_CHARS = 1_000
MAX_BODY_CHARS = 100_000

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "pre",
        "hr",
        "dd",
        "dt",
        "figcaption",
    }
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "head"})
_TAG_LIKE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*[\s/>]")
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})


class _TextCollector(HTMLParser):
    """Collects the text of an HTML fragment, skipping scripts and styles (never raises on junk)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def _strip_html(text: str) -> str:
    collector = _TextCollector()
    try:
        collector.feed(text)
        collector.close()
    except (AssertionError, ValueError):  # html.parser's rare internal asserts on junk markup
        return text
    return "".join(collector.parts)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


#: ftfy repairs text decoded with the wrong charset ("Itâ€™s" -> "It's") and nothing else:
#: quotes, widths, HTML and line breaks are left as they are (the rest of clean_text owns those).
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_character_width=False,
    fix_line_breaks=False,
    normalization=None,
    explain=False,
)


def repair_mojibake(text: str) -> str:
    """``text`` with mis-decoded character sequences repaired where that is certain (ftfy).

    What cannot be repaired (U+FFFD, bytes already lost upstream) stays: :func:`has_lost_characters`
    tells the caller, which flags the item.
    """
    return str(ftfy.fix_text(text, config=_FTFY))


def has_lost_characters(text: str) -> bool:
    """True when ``text`` holds U+FFFD replacement characters (mojibake that cannot be undone)."""
    return "\ufffd" in text


def clean_text(text: object, *, limit: int = MAX_BODY_CHARS) -> str:
    """Plain text from a possibly HTML string: tags, scripts, entities and control characters
    removed, Unicode NFC, whitespace collapsed to single spaces, cut to ``limit`` characters.

    Args:
        text: Anything; None and non-strings become text (bytes decoded as UTF-8 with replacement).
        limit: Maximum length of the result.

    Returns:
        The clean text (may be empty).
    """
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    if "<" in text or "&" in text:
        text = _strip_html(text)
        # Doubly escaped feeds (&amp;amp;, &lt;p&gt;) are common: a second pass removes what the
        # first one revealed.
        if ("&" in text and ";" in text) or _TAG_LIKE.search(text):
            text = _strip_html(text)
    if not text.isascii():
        text = repair_mojibake(text)
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        " " if ch in "\t\n\r\x0b\x0c" else ch
        for ch in text
        if ch in "\t\n\r\x0b\x0c" or unicodedata.category(ch) not in _DROP_CATEGORIES
    )
    return _truncate(" ".join(text.split()), limit)


def lead(body: str, max_chars: int = 300) -> str:
    """The lead of an article: its first sentences, up to about ``max_chars`` characters."""
    if len(body) <= max_chars:
        return body
    cut = body[:max_chars]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > max_chars // 3 else _truncate(cut, max_chars)
