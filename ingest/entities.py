"""Company and ticker tagging: cashtags, exchange prefixes, parenthesised tickers, company names.

Tickers that are common words or very short ("SPY", "ALL", "CAT", "IT", "ON", "NOW", "F") are
*ambiguous*: they only count as a cashtag (``$CAT``), after an exchange prefix (``NYSE: CAT``) or
through the company's name ("Caterpillar"). Names that are common words (marked ``~`` in the
table, e.g. ``~Target``) only count when the text has financial context (shares, earnings, ...).
Each entity gets a relevance in [0, 1]: where it is mentioned (headline > lead > body) scaled
by how often.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from finsent.core.records import EntityMention
from finsent.ingest.exceptions import SourceConfigError
from finsent.ingest.text import lead

__all__ = ["CompanyInfo", "EntityTagger", "TickerTable", "default_ticker_table"]

_WEIGHTS = {"title": 1.0, "lead": 0.6, "body": 0.3}
_DECLARED_RELEVANCE = 0.5
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![\w])")
_EXCHANGE = re.compile(
    r"(?<![\w])(?i:nasdaq(?:gs|gm|cm)?|nyse(?:\s?american|\s?arca|\s?mkt)?|nysearca|amex|otc(?:qx|qb)?"
    r"|tsxv?|lse|asx|hkex|tse|epa|xetra)\s*:\s*([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)(?![\w])"
)
_PAREN = re.compile(r"\(\s*([A-Z]{1,5}(?:\.[A-Z]{1,2})?)\s*\)")
_BARE = re.compile(r"(?<![\w$.&-])([A-Z]{2,5})(?![\w&-])")
_FINANCIAL = re.compile(
    r"(?i)\b(?:shares?|stocks?|earnings|revenue|profit|losses?|quarter(?:ly)?|q[1-4]|guidance|outlook"
    r"|dividends?|analysts?|downgrades?|downgraded|upgrades?|upgraded|price target|ceo|cfo|inc|corp"
    r"|nyse|nasdaq|ipo|buybacks?|acquisitions?|acquires?|acquired|merger|investors?|market cap"
    r"|valuation|sales|forecast|layoffs?)\b"
)
#: Parenthesised capitals that are abbreviations, not tickers.
_NOT_TICKERS = frozenset(
    {
        "AI",
        "CEO",
        "CFO",
        "COO",
        "CTO",
        "IPO",
        "GDP",
        "CPI",
        "PPI",
        "PCE",
        "ETF",
        "ETFS",
        "EPS",
        "ESG",
        "EV",
        "EVS",
        "US",
        "USA",
        "UK",
        "EU",
        "UN",
        "SEC",
        "FDA",
        "FTC",
        "DOJ",
        "ECB",
        "BOE",
        "BOJ",
        "IMF",
        "OPEC",
        "FED",
        "FOMC",
        "NYSE",
        "LLC",
        "LTD",
        "PLC",
        "INC",
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CNY",
        "API",
        "AGM",
        "EBIT",
        "EBITDA",
        "YOY",
        "QOQ",
        "NFT",
        "M&A",
        "R&D",
        "ROI",
        "ROE",
        "OTC",
        "ADR",
        "ADRS",
        "REIT",
        "SPAC",
        "LNG",
        "OEM",
        "CDC",
        "WHO",
        "NATO",
        "GMT",
        "UTC",
        "EST",
        "PST",
        "ET",
        "PT",
    }
)
_JOINER = re.compile(r"[\s(,]{0,3}")
_CONNECTORS = frozenset({"and", "of", "the", "for", "&", "de", "du", "la"})


@dataclass(frozen=True)
class CompanyInfo:
    """One row of the ticker table."""

    ticker: str
    name: str
    aliases: tuple[str, ...]
    exchange: str
    ambiguous: bool


class TickerTable:
    """The name -> ticker table: the bundled CSV plus any user files (later rows override)."""

    def __init__(self, companies: Iterable[CompanyInfo]) -> None:
        self.companies: dict[str, CompanyInfo] = {}
        for company in companies:
            self.companies[company.ticker] = company

    def __contains__(self, ticker: object) -> bool:
        return ticker in self.companies

    def __len__(self) -> int:
        return len(self.companies)

    def get(self, ticker: str) -> CompanyInfo | None:
        """The company of a ticker, or None."""
        return self.companies.get(ticker)

    def is_ambiguous(self, ticker: str) -> bool:
        """True for tickers that need context: marked ambiguous, or one or two letters."""
        company = self.companies.get(ticker)
        return len(ticker) <= 2 or (company is not None and company.ambiguous)

    @classmethod
    def from_csv(cls, paths: Sequence[Path | str], *, include_default: bool = True) -> TickerTable:
        """Load the bundled table and/or CSV files (columns ticker,name,aliases,exchange,ambiguous).

        Raises:
            SourceConfigError: a file is missing or a row is malformed (file and line named).
        """
        rows: list[CompanyInfo] = list(default_ticker_table().companies.values()) if include_default else []
        for path in paths:
            try:
                with open(path, encoding="utf-8", newline="") as handle:
                    rows.extend(_parse_rows(csv.DictReader(handle), str(path)))
            except OSError as exc:
                raise SourceConfigError(f"ticker table {path}: {exc}") from None
        return cls(rows)


def _parse_rows(reader: csv.DictReader[str], origin: str) -> list[CompanyInfo]:
    out = []
    for line, row in enumerate(reader, start=2):
        ticker = (row.get("ticker") or "").strip().upper()
        name = (row.get("name") or "").strip()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9.\-]{0,14}", ticker) or not name:
            raise SourceConfigError(f"{origin} line {line}: needs a ticker (A-Z, 0-9, '.') and a name")
        aliases = tuple(a.strip() for a in (row.get("aliases") or "").split("|") if a.strip())
        flag = (row.get("ambiguous") or "0").strip().lower()
        out.append(
            CompanyInfo(
                ticker, name, aliases, (row.get("exchange") or "").strip(), flag in {"1", "true", "yes"}
            )
        )
    return out


_DEFAULT: TickerTable | None = None


def default_ticker_table() -> TickerTable:
    """The bundled table (``ingest/data/tickers.csv``), loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        text = resources.files("finsent.ingest").joinpath("data/tickers.csv").read_text(encoding="utf-8")
        _DEFAULT = TickerTable(_parse_rows(csv.DictReader(text.splitlines()), "ingest/data/tickers.csv"))
    return _DEFAULT


def _trie_pattern(words: list[str]) -> str:
    """One regex matching any of ``words``, longest first, factored as a trie.

    Python's ``re`` tries alternatives one by one; sharing prefixes makes matching ~700 company
    names several times faster than a flat ``a|b|c`` alternation.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) > 0.6 * len(letters)


def _is_acronym_of_preceding(text: str, start: int, ticker: str) -> bool:
    words = [w for w in re.findall(r"[\w&'.-]+", text[:start]) if w.lower() not in _CONNECTORS]
    initials = "".join(w[0] for w in words[-len(ticker) :]).upper()
    return initials == ticker.replace(".", "")


def _merge_adjacent(text: str, mentions: list[tuple[int, int, str]]) -> list[str]:
    # "Caterpillar (NYSE: CAT)" is one mention found twice (name, then exchange prefix).
    out: list[str] = []
    last_end: dict[str, int] = {}
    for start, end, ticker in sorted(mentions):
        previous = last_end.get(ticker)
        if previous is None or not _JOINER.fullmatch(text[previous:start]):
            out.append(ticker)
        last_end[ticker] = max(end, previous or 0)
    return out


class EntityTagger:
    """Finds the companies an article is about and scores their relevance.

    Args:
        table: The name -> ticker table (default: the bundled one).
    """

    def __init__(self, table: TickerTable | None = None) -> None:
        self.table = table or default_ticker_table()
        plain: dict[str, str] = {}
        guarded: dict[str, str] = {}
        for company in self.table.companies.values():
            for alias in (company.name, *company.aliases):
                if alias.startswith("~"):
                    guarded[alias[1:]] = company.ticker
                else:
                    plain[alias] = company.ticker
        self._names = {**guarded, **plain}
        self._guarded = frozenset(guarded) - frozenset(plain)
        self._name_re = re.compile(r"(?<![\w])(?:" + _trie_pattern(list(self._names)) + r")(?![\w])")

    def _mentions(self, text: str, financial: bool) -> list[str]:
        text = text.replace("\u2019", "'")
        found: list[tuple[int, int, str]] = [
            (m.start(), m.end(), m.group(1).upper()) for m in _CASHTAG.finditer(text)
        ]
        found += [(m.start(), m.end(), m.group(1)) for m in _EXCHANGE.finditer(text)]
        for m in self._name_re.finditer(text):
            if m.group(0) not in self._guarded or financial:
                found.append((m.start(), m.end(), self._names[m.group(0)]))
        for m in _PAREN.finditer(text):
            if self._paren_is_ticker(text, m.start(), m.group(1)):
                found.append((m.start(), m.end(), m.group(1)))
        if not _shouting(text):
            for m in _BARE.finditer(text):
                ticker = m.group(1)
                if ticker in self.table and not self.table.is_ambiguous(ticker) and ticker not in self._names:
                    found.append((m.start(), m.end(), ticker))
        return _merge_adjacent(text, found)

    def _paren_is_ticker(self, text: str, start: int, ticker: str) -> bool:
        if ticker in self.table:
            return not self.table.is_ambiguous(ticker)
        return (
            len(ticker) >= 2
            and ticker not in _NOT_TICKERS
            and re.search(r"[A-Z][\w&.'-]*\s*$", text[:start]) is not None
            and not _is_acronym_of_preceding(text, start, ticker)
        )

    def tag(self, title: str, body: str = "", declared: Iterable[str] = ()) -> list[EntityMention]:
        """The entities of an article, most relevant first.

        Args:
            title: Clean headline.
            body: Clean body text.
            declared: Tickers the source declares (they get at least relevance 0.5).
        """
        financial = bool(_FINANCIAL.search(title) or _FINANCIAL.search(body[:2000]))
        lead_text = lead(body)
        segments = {"title": title, "lead": lead_text, "body": body[len(lead_text) :]}
        best: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        for segment, text in segments.items():
            for ticker in self._mentions(text, financial):
                best[ticker] = max(best[ticker], _WEIGHTS[segment])
                count[ticker] += 1
        relevance = {t: best[t] * (0.7 + 0.3 * min(count[t], 4) / 4) for t in best}
        for raw in declared:
            ticker = raw.strip().upper().lstrip("$")
            if ticker and len(ticker) <= 32:
                relevance[ticker] = max(relevance.get(ticker, 0.0), _DECLARED_RELEVANCE)
        ordered = sorted(relevance.items(), key=lambda kv: (-kv[1], kv[0]))
        return [
            EntityMention(ticker=t, name=self._display_name(t), relevance=round(min(1.0, r), 4))
            for t, r in ordered
        ]

    def _display_name(self, ticker: str) -> str | None:
        company = self.table.get(ticker)
        return company.name if company else None
