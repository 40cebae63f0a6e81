"""Character spans of the raw text mapped onto the normalised text and its tokens.

Callers give entity spans as offsets into the text they pass to ``Classifier.predict`` (before
:func:`finsent.models.text.normalize_text`). :func:`normalize_with_offsets` produces the very same
normalised string while remembering, for every character, where it came from in the raw text;
:func:`token_mask` then selects the tokens (fast-tokenizer ``offset_mapping``) that overlap a
span. A span that normalisation removed (inside a link) or that truncation cut away selects no
token; the caller then falls back to the text's pooled vector.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Sequence

from finsent.models.text import _SPACE, _URL

__all__ = ["normalize_with_offsets", "raw_to_norm", "token_mask"]

# The pattern html.unescape applies: each match is replaced independently of its neighbours,
# so unescaping match by match gives the same string as unescaping the whole text.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def _sub_tracked(pattern: re.Pattern[str], text: str, src: list[int], repl: object) -> tuple[str, list[int]]:
    """``pattern.sub`` that carries the per-character source offsets along."""
    out: list[str] = []
    out_src: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(text[last : m.start()])
        out_src.extend(src[last : m.start()])
        new = repl(m.group(0)) if callable(repl) else str(repl)
        out.append(new)
        out_src.extend([src[m.start()]] * len(new))
        last = m.end()
    out.append(text[last:])
    out_src.extend(src[last : len(text)])
    return "".join(out), [*out_src, src[len(text)]]


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the raw offset it came from.

    Returns:
        ``(norm, src)`` with ``norm == normalize_text(text)`` and ``len(src) == len(norm) + 1``;
        ``src`` is non-decreasing and ``src[-1]`` is the raw end of the last kept character.
    """
    src = list(range(len(text) + 1))
    s, src = _sub_tracked(_CHARREF, text, src, html.unescape)
    s, src = _sub_tracked(_URL, s, src, " ")
    s, src = _sub_tracked(_SPACE, s, src, " ")
    lead = len(s) - len(s.lstrip())
    trail = len(s.rstrip())
    end = src[trail] if trail > lead else src[lead]
    return s[lead:trail], [*src[lead:trail], end]


def raw_to_norm(src: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """A raw span ``[start, end)`` as a span of the normalised text (empty when it vanished)."""
    chars = src[:-1]
    lo = bisect_left(chars, start)
    hi = bisect_left(chars, end)
    return lo, max(lo, hi)


def token_mask(offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[int]:
    """Token positions overlapping any of ``spans`` (normalised-text offsets); special tokens,
    whose offsets are ``(0, 0)``, never match."""
    hits = []
    for pos, (cs, ce) in enumerate(offsets):
        if ce <= cs:
            continue
        if any(ce > ns and cs < ne for ns, ne in spans):
            hits.append(pos)
    return hits
