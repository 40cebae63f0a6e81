"""What an explanation occludes: a text or an article as units (headline, body sentences).

Shared by `finsent explain` and the API's explain route; kept here, below both, so the command
does not import the web app (FastAPI and every route) to split a text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from finsent.models.explain import Unit
from finsent.stream.article import split_sentences

__all__ = ["article_units", "text_units"]


def text_units(text: str, field: str = "text", *, max_sentences: int = 32) -> list[Unit]:
    """A free text as units: one (headline-like) unit, or its sentences when it has several."""
    spans = split_sentences(text)[:max_sentences]
    if len(spans) <= 1:
        start = len(text) - len(text.lstrip())
        return [Unit(text.strip(), field, start, start + len(text.strip()))]
    return [Unit(text[a:b], field, a, b, k) for k, (a, b) in enumerate(spans)]


def article_units(
    title: str, body: str, stored: Sequence[Mapping[str, Any]] = (), *, max_sentences: int = 32
) -> list[Unit]:
    """The headline and the body's sentences (stored ``sentence_scores`` rows win over splitting)."""
    units = [Unit(title, "title", 0, len(title))] if title.strip() else []
    if stored:
        spans = [(int(r["char_start"]), int(r["char_end"])) for r in sorted(stored, key=lambda r: r["idx"])]
    else:
        spans = [(a, b) for a, b in split_sentences(body) if any(c.isalnum() for c in body[a:b])]
    spans = [(a, b) for a, b in spans if 0 <= a < b <= len(body) and body[a:b].strip() != title.strip()]
    units += [Unit(body[a:b], "body", a, b, k) for k, (a, b) in enumerate(spans[:max_sentences])]
    return units
