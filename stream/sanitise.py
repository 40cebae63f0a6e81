"""Make an article's entity mentions safe to score: bad mentions are dropped or capped, never fatal.

A record's entities come from a tagger or an outside feed and are not checked against the text
(contract: a bad span must not lose the article). Before scoring, :func:`sanitise_entities`

* drops an entity whose ticker is blank (there is nothing to key its score on);
* stores a blank name as ``None``;
* drops spans that fall outside their field (``end`` past the title/body, or an unknown field);
* merges repeated tickers (spans joined, the highest relevance kept);
* keeps the ``max_entities`` most relevant entities and the first ``max_spans`` spans of each.

A record that does not decode only because of its entities is salvaged by
:func:`salvage_record`: the entities and spans that do not validate are dropped and the rest of
the article is scored (the alternative, a dead letter, would lose the article).

Each drop is counted by reason (``Counter``); the caller counts them in Prometheus and logs one
line per article.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from finsent.core.records import ArticleRecord, EntityMention, MentionSpan, SchemaError

__all__ = ["CleanEntity", "salvage_record", "sanitise_entities"]

#: Reasons counted (the ``reason`` label of ``finsent_stream_sanitised``).
REASONS = (
    "blank_ticker",
    "empty_name",
    "span_outside_text",
    "duplicate_entity",
    "entities_capped",
    "spans_capped",
    "invalid_entity",
    "invalid_span",
)


@dataclass(frozen=True)
class CleanEntity:
    """An entity ready to score: spans checked against the text, split by field."""

    ticker: str
    name: str | None
    relevance: float
    title_spans: tuple[tuple[int, int], ...]
    body_spans: tuple[tuple[int, int], ...]

    @property
    def mentions(self) -> int:
        """Kept spans (title and body)."""
        return len(self.title_spans) + len(self.body_spans)


def sanitise_entities(
    record: ArticleRecord, *, max_entities: int, max_spans: int
) -> tuple[list[CleanEntity], Counter[str]]:
    """The record's entities, cleaned (see the module docstring); most relevant first.

    Returns:
        ``(entities, dropped)``: the clean entities and the count of each thing dropped.
    """
    dropped: Counter[str] = Counter()
    merged: dict[str, tuple[str | None, float, list[MentionSpan]]] = {}
    for mention in record.entities:
        ticker = mention.ticker.strip()
        if not ticker:
            dropped["blank_ticker"] += 1
            continue
        name = mention.name.strip() if mention.name is not None else None
        if mention.name is not None and not name:
            dropped["empty_name"] += 1
        if ticker in merged:
            dropped["duplicate_entity"] += 1
            old_name, old_rel, spans = merged[ticker]
            merged[ticker] = (
                old_name or name or None,
                max(old_rel, mention.relevance),
                spans + mention.spans,
            )
        else:
            merged[ticker] = (name or None, mention.relevance, list(mention.spans))
    ranked = sorted(merged.items(), key=lambda kv: -kv[1][1])  # stable: ingest's order among ties
    if len(ranked) > max_entities:
        dropped["entities_capped"] += len(ranked) - max_entities
        ranked = ranked[:max_entities]
    out = []
    for ticker, (name, relevance, spans) in ranked:
        title, body = _check_spans(record, spans, dropped)
        if len(title) + len(body) > max_spans:
            dropped["spans_capped"] += len(title) + len(body) - max_spans
            title = title[:max_spans]
            body = body[: max_spans - len(title)]
        out.append(CleanEntity(ticker, name, relevance, tuple(title), tuple(body)))
    return out, dropped


def _check_spans(
    record: ArticleRecord, spans: Sequence[MentionSpan], dropped: Counter[str]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    title: set[tuple[int, int]] = set()
    body: set[tuple[int, int]] = set()
    for span in spans:
        text, into = (record.title, title) if span.field == "title" else (record.body, body)
        if (
            span.start < 0
            or span.end <= span.start
            or span.end > len(text)
            or not text[span.start : span.end].strip()
        ):
            dropped["span_outside_text"] += 1
            continue
        into.add((span.start, span.end))
    return sorted(title), sorted(body)


def salvage_record(raw: bytes | None) -> tuple[ArticleRecord, Counter[str]]:
    """Decode a record that failed validation, dropping the entities and spans that do not validate.

    Raises:
        SchemaError: the record is still invalid without them (the fault is not in its entities).
    """
    try:
        data = json.loads(raw) if raw is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"article: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entities"), list):
        return ArticleRecord.from_bytes(raw), Counter()  # raises the original error
    dropped: Counter[str] = Counter()
    kept = []
    for entity in data["entities"]:
        if isinstance(entity, dict) and isinstance(entity.get("spans"), list):
            entity = {**entity, "spans": _valid_spans(entity["spans"], dropped)}
        try:
            kept.append(EntityMention.model_validate(entity).model_dump())
        except ValidationError:
            is_blank = isinstance(entity, dict) and not str(entity.get("ticker") or "").strip()
            dropped["blank_ticker" if is_blank else "invalid_entity"] += 1
    if not dropped:
        return ArticleRecord.from_bytes(raw), dropped  # raises the original error
    fixed = json.dumps({**data, "entities": kept}).encode("utf-8")
    return ArticleRecord.from_bytes(fixed), dropped


def _valid_spans(spans: list[object], dropped: Counter[str]) -> list[dict[str, Any]]:
    out = []
    for span in spans:
        try:
            out.append(MentionSpan.model_validate(span).model_dump())
        except ValidationError:
            dropped["invalid_span"] += 1
    return out
