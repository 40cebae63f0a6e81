"""Company and ticker tagging: which companies an article names, where, and how relevant each is.

Mentions are found in the title and in the body separately (:mod:`finsent.ingest.mentions`), so
each span indexes its own field of the published article. Share classes and former symbols
resolve to one canonical ticker (``GOOG`` -> ``GOOGL``, ``$FB`` -> ``META``), so one company is
one entity. Relevance comes from :func:`finsent.ingest.relevance.relevance`. Caps:
``settings.ingest.max_entities_per_article`` (the most relevant are kept) and
``max_spans_per_entity`` (the first spans are kept; all mentions still count for relevance).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from finsent.core.records import EntityMention, MentionSpan
from finsent.core.sections import IngestSettings
from finsent.ingest.mentions import FINANCIAL, Mention, MentionFinder
from finsent.ingest.relevance import DECLARED_RELEVANCE, MentionStats, relevance
from finsent.ingest.universe import CompanyInfo, TickerTable, default_ticker_table

__all__ = ["CompanyInfo", "EntityTagger", "TickerTable", "default_ticker_table"]

_DEFAULTS = IngestSettings.model_fields
_MAX_ENTITIES: int = _DEFAULTS["max_entities_per_article"].default
_MAX_SPANS: int = _DEFAULTS["max_spans_per_entity"].default
#: Financial context is looked for in the title and this much of the body.
_CONTEXT_CHARS = 2000


@dataclass
class _Found:
    spans: list[MentionSpan] = field(default_factory=list)
    count: int = 0
    in_title: bool = False
    first_body: int | None = None


class EntityTagger:
    """Finds the companies an article is about, with their spans and relevance.

    Args:
        table: The universe (default: the bundled one).
        max_entities: Most entities kept per article (the most relevant).
        max_spans: Most spans kept per entity (the first ones).
    """

    def __init__(
        self,
        table: TickerTable | None = None,
        *,
        max_entities: int = _MAX_ENTITIES,
        max_spans: int = _MAX_SPANS,
    ) -> None:
        self.table = table or default_ticker_table()
        self.max_entities = max_entities
        self.max_spans = max_spans
        self._finder = MentionFinder(self.table)

    def mentions(self, text: str, *, financial: bool = True, title: bool = False) -> list[Mention]:
        """The raw mentions of one text (spans into ``text``), in text order."""
        return self._finder.find(text, financial=financial, title=title)

    def tag(self, title: str, body: str = "", declared: Iterable[str] = ()) -> list[EntityMention]:
        """The entities of an article, most relevant first.

        Args:
            title: Clean headline.
            body: Clean body text.
            declared: Tickers the source declares (at least relevance 0.5; no spans unless written).
        """
        financial = bool(FINANCIAL.search(title) or FINANCIAL.search(body[:_CONTEXT_CHARS]))
        found: dict[str, _Found] = {}
        fields: tuple[tuple[Literal["title", "body"], str], ...] = (("title", title), ("body", body))
        for name, text in fields:
            for m in self._finder.find(text, financial=financial, title=name == "title"):
                entry = found.setdefault(m.ticker, _Found())
                entry.count += 1
                if len(entry.spans) < self.max_spans:
                    entry.spans.append(
                        MentionSpan(field=name, start=m.start, end=m.end, text=text[m.start : m.end])
                    )
                if name == "title":
                    entry.in_title = True
                elif entry.first_body is None:
                    entry.first_body = m.start
        scores = {
            ticker: relevance(MentionStats(f.in_title, f.first_body, len(body), f.count), len(found))
            for ticker, f in found.items()
        }
        for raw in declared:
            ticker = self.table.canonical(raw.strip().upper().lstrip("$"))
            if ticker and len(ticker) <= 32:
                scores[ticker] = max(scores.get(ticker, 0.0), DECLARED_RELEVANCE)
        ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[: self.max_entities]
        return [
            EntityMention(
                ticker=t,
                name=self._display_name(t),
                relevance=r,
                spans=found[t].spans if t in found else [],
            )
            for t, r in ordered
        ]

    def _display_name(self, ticker: str) -> str | None:
        company = self.table.get(ticker)
        return company.name if company else None
