"""Entity-level sentiment data (FinEntity JSON lines) and its breakdown for evaluation.

Format, one text per line::

    {"text": "...", "entities": [{"start": 0, "end": 7, "text": "Siemens", "sentiment": "positive"}]}

``start``/``end`` are character offsets into ``text``. Bad rows and bad entities are reported
with their line numbers and skipped, never guessed: a span outside the text, a span whose text
differs from the given surface form, an unknown sentiment. The same span listed twice is one
entity (the first label is kept; a conflicting repeat is reported).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finsent.models.data import BadRow, EntityLabel, Example, json_lines
from finsent.models.exceptions import DataFormatError
from finsent.models.labels import sentiment_index

__all__ = ["EntityData", "disagrees", "opposite_pairs", "read_entity_jsonl", "with_document_labels"]


@dataclass
class EntityData:
    """Texts with per-entity sentiment read from one file, and the rows/entities skipped."""

    source: str
    examples: list[Example] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    task: str = "entity"

    def report(self) -> str:
        """One line per skipped row or entity (empty string when none were skipped)."""
        return "\n".join(str(b) for b in self.bad_rows)

    @property
    def n_entities(self) -> int:
        """Entities over all texts."""
        return sum(len(e.entities) for e in self.examples)


def _entity(obj: Any, text: str) -> tuple[EntityLabel | None, str]:
    if not isinstance(obj, dict):
        return None, "entity is not a JSON object"
    start, end = obj.get("start"), obj.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
        return None, f"span ({start}, {end}) outside the text (length {len(text)})"
    surface = obj.get("text")
    if isinstance(surface, str) and surface and text[start:end] != surface:
        return None, f"span ({start}, {end}) is {text[start:end]!r}, not {surface!r}"
    label = sentiment_index(str(obj.get("sentiment", "")).strip())
    if label is None:
        return None, f"unknown sentiment {obj.get('sentiment')!r}"
    return EntityLabel(start, end, label), ""


def _row(obj: Any, source: str, line: int, out: EntityData) -> None:
    text = obj.get("text") if isinstance(obj, dict) else None
    if not isinstance(text, str) or not text.strip():
        out.bad_rows.append(BadRow(source, line, "empty text"))
        return
    raw = obj.get("entities")
    if not isinstance(raw, list) or not raw:
        out.bad_rows.append(BadRow(source, line, "no entities"))
        return
    kept: dict[tuple[int, int], EntityLabel] = {}
    for n, item in enumerate(raw):
        ent, why = _entity(item, text)
        if ent is None:
            out.bad_rows.append(BadRow(source, line, f"entity {n}: {why}"))
        elif (ent.start, ent.end) in kept:
            if kept[(ent.start, ent.end)].sentiment != ent.sentiment:
                out.bad_rows.append(BadRow(source, line, f"entity {n}: conflicting repeat of a span"))
        else:
            kept[(ent.start, ent.end)] = ent
    if kept:
        out.examples.append(Example(text, entities=tuple(kept.values())))


def read_entity_jsonl(path: str | Path, *, encoding: str = "utf-8") -> EntityData:
    """Read a FinEntity-style JSON-lines file.

    Raises:
        DataFormatError: The file does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"{p}: no such file")
    out = EntityData(source=str(p))
    for line_no, obj, why in json_lines(p, encoding=encoding):
        if why:
            out.bad_rows.append(BadRow(str(p), line_no, why))
        else:
            _row(obj, str(p), line_no, out)
    return out


def disagrees(example: Example) -> bool:
    """Whether a text's entities carry different sentiments."""
    return len({e.sentiment for e in example.entities}) > 1


def with_document_labels(examples: Sequence[Example]) -> list[Example]:
    """Single-entity texts also labeled at document level with their entity's sentiment (the
    text is about that one entity, so its label is the text's); other texts unchanged."""
    return [
        Example(e.text, sentiment=e.entities[0].sentiment, entities=e.entities) if len(e.entities) == 1 else e
        for e in examples
    ]


def opposite_pairs(examples: Sequence[Example], n: int, seed: int, *, max_chars: int = 400) -> list[Example]:
    """Up to ``n`` synthetic texts whose entities disagree: two entity-labeled texts whose
    entities each share one sentiment, the two sentiments different, joined by a space (the
    second text's spans shifted), at most ``max_chars`` long. Teaches the entity head to read
    each mention's own context where a text's overall tone would mislead it (FinEntity has few
    such texts). Each pair is used once; none carries a document label.
    """
    by_label: dict[int, list[Example]] = {}
    for e in examples:
        labels = {x.sentiment for x in e.entities}
        if len(labels) == 1 and len(e.text) < max_chars:
            by_label.setdefault(labels.pop(), []).append(e)
    rng = random.Random(seed)
    keys = sorted(by_label)
    seen: set[tuple[str, str]] = set()
    out: list[Example] = []
    for _ in range(20 * n if len(keys) > 1 else 0):
        if len(out) >= n:
            break
        la, lb = rng.sample(keys, 2)
        a, b = rng.choice(by_label[la]), rng.choice(by_label[lb])
        if len(a.text) + len(b.text) + 1 > max_chars or (a.text, b.text) in seen:
            continue
        seen.add((a.text, b.text))
        shift = len(a.text) + 1
        moved = tuple(EntityLabel(x.start + shift, x.end + shift, x.sentiment) for x in b.entities)
        out.append(Example(f"{a.text} {b.text}", entities=(*a.entities, *moved)))
    return out
