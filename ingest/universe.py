"""The company universe: which tickers exist, their names, and which tickers mean the same company.

Three layers, later rows overriding earlier ones with the same ticker:

1. ``ingest/data/universe.csv`` -- index constituents (US, UK, EU, CH, JP) generated from
   pytickersymbols by ``benchmarks/build_universe.py``;
2. ``ingest/data/tickers.csv`` -- hand-curated names, aliases and word flags;
3. the user's universe imported by ``finsent entities import`` (``settings.ingest.universe_file``,
   default ``<data_dir>/universe.csv``) and a sources file's ``tickers_files``.

A company has one canonical ticker (the entity key); ``other_tickers`` lists share classes,
listings abroad and former symbols (``GOOG`` -> ``GOOGL``, ``FB`` -> ``META``) that resolve to it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from finsent.ingest.exceptions import SourceConfigError, UniverseFileError

__all__ = [
    "CompanyInfo",
    "TickerTable",
    "common_words",
    "default_ticker_table",
    "import_universe",
    "parse_universe",
    "read_universe_file",
]

#: Columns of a universe CSV, in the order ``finsent entities import`` writes them.
COLUMNS = ("ticker", "name", "aliases", "exchange", "ambiguous", "other_tickers", "market")
#: Bad rows named in an import error (the rest are counted).
_SHOWN_PROBLEMS = 10
_TICKER = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,14}")
_TRUE = frozenset({"1", "true", "yes", "y"})
_FALSE = frozenset({"", "0", "false", "no", "n"})


@dataclass(frozen=True)
class CompanyInfo:
    """One company of the universe."""

    ticker: str
    name: str
    aliases: tuple[str, ...]
    exchange: str
    ambiguous: bool
    other_tickers: tuple[str, ...] = ()
    market: str = ""


class TickerTable:
    """The name -> ticker table (later rows with the same ticker override earlier ones)."""

    def __init__(self, companies: Iterable[CompanyInfo]) -> None:
        self.companies: dict[str, CompanyInfo] = {}
        for company in companies:
            self.companies[company.ticker] = company
        self._canonical: dict[str, str] = {}
        for company in self.companies.values():
            for other in company.other_tickers:
                if other not in self.companies:  # a company's own row beats another's alias
                    self._canonical.setdefault(other, company.ticker)

    def __contains__(self, ticker: object) -> bool:
        return ticker in self.companies or ticker in self._canonical

    def __len__(self) -> int:
        return len(self.companies)

    def canonical(self, ticker: str) -> str:
        """The entity key of a ticker: itself, or the company it is a share class / old symbol of."""
        return self._canonical.get(ticker, ticker)

    def get(self, ticker: str) -> CompanyInfo | None:
        """The company of a ticker (also of a share class or former symbol), or None."""
        return self.companies.get(self.canonical(ticker))

    def is_ambiguous(self, ticker: str) -> bool:
        """True for tickers that need context: marked ambiguous, or one or two letters."""
        company = self.get(ticker)
        return len(ticker.split(".")[0]) <= 2 or (company is not None and company.ambiguous)

    def by_market(self) -> dict[str, int]:
        """How many companies each market has ("" for rows that name none)."""
        counts: dict[str, int] = {}
        for company in self.companies.values():
            counts[company.market] = counts.get(company.market, 0) + 1
        return dict(sorted(counts.items()))

    @classmethod
    def from_csv(cls, paths: Sequence[Path | str], *, include_default: bool = True) -> TickerTable:
        """Load the bundled universe and/or CSV files (columns as in ``ingest/data/README.md``).

        Raises:
            SourceConfigError: a file is missing or a row is malformed (file and line named).
        """
        rows: list[CompanyInfo] = list(default_ticker_table().companies.values()) if include_default else []
        for path in paths:
            rows.extend(read_universe_file(path))
        return cls(rows)


def read_universe_file(path: Path | str) -> list[CompanyInfo]:
    """The companies of one universe CSV.

    Raises:
        SourceConfigError: the file is unreadable or a row is malformed (file and line named).
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            companies, problems = parse_universe(csv.DictReader(handle), str(path))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceConfigError(f"ticker table {path}: {exc}") from None
    if problems:
        raise SourceConfigError(problems[0])
    return companies


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split("|") if part.strip())


def _parse_row(row: dict[str, str | None], where: str, words: frozenset[str]) -> CompanyInfo:
    ticker = (row.get("ticker") or "").strip().upper().lstrip("$")
    name = (row.get("name") or "").strip()
    if not _TICKER.fullmatch(ticker) or not name:
        raise ValueError(f"{where}: needs a ticker (A-Z, 0-9, '.', '-') and a name")
    others = tuple(t.upper().lstrip("$") for t in _split(row.get("other_tickers")))
    bad = [t for t in others if not _TICKER.fullmatch(t)]
    if bad:
        raise ValueError(f"{where}: other_tickers {bad[0]!r} is not a ticker")
    flag = (row.get("ambiguous") or "").strip().lower()
    if flag not in _TRUE | _FALSE:
        raise ValueError(f"{where}: ambiguous must be 0/1/true/false, not {flag!r}")
    # Without the column a ticker that is an ordinary word (CAT, NOW, KEY) needs context, and so
    # does an alias that is one ordinary word (it gets the '~' of the curated table).
    has_flag = row.get("ambiguous") not in (None, "")
    ambiguous = flag in _TRUE if has_flag else ticker.lower() in words
    aliases = tuple(
        a if a.startswith("~") or has_flag or " " in a or a.lower() not in words else "~" + a
        for a in _split(row.get("aliases"))
    )
    if any(a.strip("~").strip() == "" for a in aliases):
        raise ValueError(f"{where}: an alias is empty")
    market = (row.get("market") or "").strip().upper()
    return CompanyInfo(ticker, name, aliases, (row.get("exchange") or "").strip(), ambiguous, others, market)


def parse_universe(rows: Iterable[dict[str, str | None]], origin: str) -> tuple[list[CompanyInfo], list[str]]:
    """Parse universe rows, collecting every problem instead of stopping at the first.

    Columns: ``ticker`` and ``name`` (required), ``aliases`` and ``other_tickers`` (``|``-separated),
    ``exchange``, ``ambiguous`` (0/1; absent: derived from the word list), ``market``.

    Returns:
        The good companies, and one message per bad row (``<origin> line N: why``).
    """
    words = common_words()
    companies: list[CompanyInfo] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{origin} line {line}"
        try:
            company = _parse_row(row, where, words)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if company.ticker in seen:
            problems.append(f"{where}: ticker {company.ticker} already on line {seen[company.ticker]}")
            continue
        seen[company.ticker] = line
        companies.append(company)
    return companies, problems


def _bundled_rows(name: str) -> Iterator[dict[str, str | None]]:
    text = resources.files("finsent.ingest").joinpath(f"data/{name}").read_text(encoding="utf-8")
    yield from csv.DictReader(text.splitlines())


@cache
def common_words() -> frozenset[str]:
    """Ordinary lower-case English words (``ingest/data/common_words.txt``)."""
    text = resources.files("finsent.ingest").joinpath("data/common_words.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


@cache
def default_ticker_table() -> TickerTable:
    """The bundled universe: index constituents overlaid with the curated table, loaded once."""
    rows: list[CompanyInfo] = []
    for name in ("universe.csv", "tickers.csv"):
        companies, problems = parse_universe(_bundled_rows(name), f"ingest/data/{name}")
        if problems:
            raise SourceConfigError(problems[0])
        rows.extend(companies)
    return TickerTable(rows)


def import_universe(source: Path, target: Path) -> list[CompanyInfo]:
    """Validate a user's universe CSV and store it, normalised, at ``target`` (replacing it).

    Every row is checked before anything is written: one bad row and nothing is stored.

    Raises:
        UniverseFileError: the file is unreadable, lacks the ``ticker``/``name`` columns, or has
            bad rows (the first ten named by line, the rest counted).
    """
    try:
        with open(source, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [c.strip().lower() for c in reader.fieldnames or []]
            if "ticker" not in header or "name" not in header:
                raise UniverseFileError(f"{source}: the header must name the columns ticker and name")
            reader.fieldnames = header
            companies, problems = parse_universe(reader, str(source))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UniverseFileError(f"{source}: {exc}") from None
    if problems:
        more = len(problems) - _SHOWN_PROBLEMS
        listed = "\n  ".join(problems[:_SHOWN_PROBLEMS]) + (f"\n  ... and {more} more" if more > 0 else "")
        raise UniverseFileError(f"{source}: {len(problems)} bad row(s), nothing imported:\n  {listed}")
    if not companies:
        raise UniverseFileError(f"{source}: no companies")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for c in companies:
            flag = "1" if c.ambiguous else "0"
            writer.writerow(
                [c.ticker, c.name, "|".join(c.aliases), c.exchange, flag, "|".join(c.other_tickers), c.market]
            )
    partial.replace(target)  # atomic: a crawler starting now reads the old or the new file
    return companies
