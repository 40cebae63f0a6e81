"""Finding where companies are written in one text: the patterns and the name matcher.

Kinds of mention, each with its character span:

* cashtags (``$TSLA``, any ticker) and exchange prefixes (``NYSE: CAT``, ``LSE: BP``, any ticker);
* a title that is only a symbol (Nasdaq trade-halt items: ``ROCC``) and ``Symbol: ROCC`` fields;
* company names and aliases, found by one Aho-Corasick automaton (fast with thousands of names),
  case-sensitive, on word boundaries, longest first; names marked ``~`` (ordinary words) only
  with financial context; a one-word name right after a given name or a title is a person
  ("Judge Richard Eaton", "Henry Ford") and not the company;
* parenthesised tickers (``(AAPL)``; unknown ones only after a capitalised name and when they are
  not the initials of the preceding words, so ``Securities and Exchange Commission (SEC)`` is not);
* bare upper-case tickers from the table that are not ambiguous, outside all-caps text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import ahocorasick

from finsent.ingest.universe import TickerTable, common_words

__all__ = ["FINANCIAL", "Mention", "MentionFinder", "given_names"]

_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![\w])")
_EXCHANGE = re.compile(
    r"(?<![\w])(?i:nasdaq(?:gs|gm|cm)?|nyse(?:\s?american|\s?arca|\s?mkt)?|nysearca|amex|otc(?:qx|qb)?"
    r"|tsxv?|lse|asx|hkex|tse|epa|xetra)\s*:\s*([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)(?![\w])"
)
_PAREN = re.compile(r"\(\s*([A-Z]{1,5}(?:\.[A-Z]{1,2})?)\s*\)")
_BARE = re.compile(r"(?<![\w$.&-])([A-Z]{2,5})(?![\w&-])")
_SYMBOL_TITLE = re.compile(r"\s*\$?([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)\s*")
_SYMBOL_FIELD = re.compile(
    r"(?<![\w])(?:Issue\s+)?Symbol\s*[:=]?\s*([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)(?![\w])"
)
FINANCIAL = re.compile(
    r"(?i)\b(?:shares?|stocks?|earnings|revenue|profit|losses?|quarter(?:ly)?|q[1-4]|guidance|outlook"
    r"|dividends?|analysts?|downgrades?|downgraded|upgrades?|upgraded|price target|ceo|cfo|inc|corp"
    r"|nyse|nasdaq|ipo|buybacks?|acquisitions?|acquires?|acquired|merger|investors?|market cap"
    r"|valuation|sales|forecast|layoffs?|beats?|misses|takeover|stake)\b"
)
#: Upper-case abbreviations that are not tickers (in parentheses, bare, or as a whole title).
NOT_TICKERS = frozenset(
    [
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
        "CEOS",
        "IRS",
        "FBI",
        "CIA",
        "NASA",
        "NBA",
        "NFL",
        "WTO",
        "OECD",
        "BREAKING",
        "UPDATE",
        "ALERT",
        "NEWS",
    ]
)
_JOINER = re.compile(r"[\s(,<]{0,3}")
#: Reuters instrument codes in wire text: "Bank of America <BAC.N>", "Deutsche Bank <DBKGn.DE>".
_RIC = re.compile(r"<([A-Z0-9]{1,6})(?:[a-z_]{1,2}[a-z]?)?\.([A-Z]{1,2})>")
#: RIC exchange suffix -> the universe's (Yahoo-style) suffix; "" for US listings.
_RIC_SUFFIX = {
    **dict.fromkeys(("N", "O", "OQ", "A", "K", "P", "Z"), ""),
    "L": ".L",
    "DE": ".DE",
    "F": ".DE",
    "PA": ".PA",
    "AS": ".AS",
    "BR": ".BR",
    "MC": ".MC",
    "MI": ".MI",
    "S": ".SW",
    "ST": ".ST",
    "HE": ".HE",
    "T": ".T",
    "HK": ".HK",
}
_CONNECTORS = frozenset({"and", "of", "the", "for", "&", "de", "du", "la"})
_EPITHET = re.compile(r" of (?:the )?[A-Z]")
_PREVIOUS_WORD = re.compile(r"([A-Z][\w'.-]*)\s+(?:[A-Z]\.\s+)?$")


@dataclass(frozen=True)
class Mention:
    """One company written in a text: ``text[start:end]`` names ``ticker`` (canonical)."""

    start: int
    end: int
    ticker: str


@cache
def given_names() -> frozenset[str]:
    """Given names and titles that make the next word a person's name (``ingest/data/given_names.txt``)."""
    text = resources.files("finsent.ingest").joinpath("data/given_names.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


def _shouting(text: str) -> bool:
    if text.isupper():
        return sum(map(str.isalpha, text)) >= 12
    letters = sum(map(str.isalpha, text))
    return letters >= 12 and sum(map(str.isupper, text)) > 0.6 * letters


def _is_acronym_of_preceding(text: str, start: int, ticker: str) -> bool:
    words = [w for w in re.findall(r"[\w&'.-]+", text[:start]) if w.lower() not in _CONNECTORS]
    initials = "".join(w[0] for w in words[-len(ticker) :]).upper()
    return initials == ticker.replace(".", "")


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class MentionFinder:
    """Finds the mentions of the companies of one table in a text.

    Args:
        table: The universe.
    """

    def __init__(self, table: TickerTable) -> None:
        self.table = table
        plain: dict[str, str] = {}
        guarded: dict[str, str] = {}
        for company in table.companies.values():
            for alias in (company.name, *company.aliases):
                if alias.startswith("~"):
                    guarded.setdefault(alias[1:], company.ticker)
                else:
                    plain[alias] = company.ticker
        self._names = {**guarded, **plain}
        self._guarded = frozenset(guarded) - frozenset(plain)
        self._automaton = ahocorasick.Automaton()
        for name in self._names:
            self._automaton.add_word(name, len(name))
        if self._names:
            self._automaton.make_automaton()
        self._persons = given_names() | {w.rstrip(".") for w in given_names()}

    def find(self, text: str, *, financial: bool, title: bool = False) -> list[Mention]:
        """Every mention in ``text``, in text order, overlapping ones resolved (earliest, longest).

        Args:
            text: Clean text (the title or the body, as published: spans index into it).
            financial: The article has financial context (enables ``~`` word names).
            title: ``text`` is a headline (a headline that is only a symbol names that symbol).
        """
        text = text.replace("\u2019", "'")  # same length: spans still index the original
        found: list[Mention] = []
        if title:
            symbol = _SYMBOL_TITLE.fullmatch(text)
            if symbol and self._symbol_title(symbol.group(1)):
                return [Mention(symbol.start(1), symbol.end(1), self.table.canonical(symbol.group(1)))]
        # Cashtags and exchange prefixes span the whole "$TSLA" / "NYSE: CAT".
        found += [self._m(m, m.group(1).upper(), 0) for m in _CASHTAG.finditer(text)]
        found += [self._m(m, m.group(1), 0) for m in _EXCHANGE.finditer(text)]
        found += [self._m(m, m.group(1)) for m in _SYMBOL_FIELD.finditer(text)]
        found += self._ric_mentions(text)
        found += self._name_mentions(text, financial)
        found += [
            self._m(m, m.group(1))
            for m in _PAREN.finditer(text)
            if self._paren_is_ticker(text, m.start(), m.group(1))
        ]
        if not _shouting(text):
            for m in _BARE.finditer(text):
                ticker = m.group(1)
                if (
                    ticker in self.table
                    and not self.table.is_ambiguous(ticker)
                    and ticker not in self._names
                    and ticker not in NOT_TICKERS
                ):
                    found.append(self._m(m, ticker))
        return _resolve(text, found)

    def _m(self, match: re.Match[str], ticker: str, group: int = 1) -> Mention:
        return Mention(match.start(group), match.end(group), self.table.canonical(ticker))

    def _ric_mentions(self, text: str) -> list[Mention]:
        out = []
        for m in _RIC.finditer(text):
            suffix = _RIC_SUFFIX.get(m.group(2))
            if suffix is None:
                continue
            ticker = m.group(1) + suffix
            # A US code names its ticker like a cashtag; elsewhere RIC and ticker codes differ
            # (DBKGn.DE is DBK.DE), so only a code the universe knows counts.
            if suffix == "" or ticker in self.table:
                out.append(Mention(m.start(1), m.end(1), self.table.canonical(ticker)))
        return out

    def _symbol_title(self, symbol: str) -> bool:
        # A feed whose headline is just "ROCC" (Nasdaq trade halts) names that security, also one
        # the universe does not know; a lone word-ticker ("NOW") or abbreviation does not.
        if symbol in NOT_TICKERS or len(symbol) < 2:
            return False
        return symbol in self.table or symbol.lower() not in common_words()

    def _name_mentions(self, text: str, financial: bool) -> list[Mention]:
        if not self._names:
            return []
        out = []
        for end, length in self._automaton.iter(text):
            start, stop = end + 1 - length, end + 1
            if (start > 0 and _word_char(text[start - 1])) or (stop < len(text) and _word_char(text[stop])):
                continue
            name = text[start:stop]
            # A word name needs financial context, and is an epithet, not the company, in
            # "the Oracle of Omaha" / "a Target of ..." (word + "of" + a capitalised name).
            if name in self._guarded and (not financial or _EPITHET.match(text, stop)):
                continue
            if " " not in name and self._after_person_word(text, start):
                continue
            out.append(Mention(start, stop, self._names[name]))
        return out

    def _after_person_word(self, text: str, start: int) -> bool:
        previous = _PREVIOUS_WORD.search(text[max(0, start - 40) : start])
        return previous is not None and previous.group(1).rstrip(".") in self._persons

    def _paren_is_ticker(self, text: str, start: int, ticker: str) -> bool:
        if ticker in self.table:
            return not self.table.is_ambiguous(ticker)
        return (
            len(ticker) >= 2
            and ticker not in NOT_TICKERS
            and re.search(r"[A-Z][\w&.'-]*\s*$", text[:start]) is not None
            and not _is_acronym_of_preceding(text, start, ticker)
        )


def _resolve(text: str, found: list[Mention]) -> list[Mention]:
    """Overlaps resolved (earliest start, then longest wins); a name written twice in a row
    ("Caterpillar (NYSE: CAT)") kept once, as its first span."""
    out: list[Mention] = []
    last_end = -1
    for mention in sorted(found, key=lambda m: (m.start, -(m.end - m.start))):
        if mention.start < last_end:
            continue
        if out and out[-1].ticker == mention.ticker and _JOINER.fullmatch(text[out[-1].end : mention.start]):
            last_end = mention.end
            continue
        out.append(mention)
        last_end = mention.end
    return out
