"""Entity tagging: the >= 30 headline table (ambiguous words included), relevance, user tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsent.ingest.entities import EntityTagger, TickerTable, default_ticker_table
from finsent.ingest.exceptions import SourceConfigError


@pytest.fixture(scope="module")
def tagger() -> EntityTagger:
    return EntityTagger()


HEADLINES: list[tuple[str, set[str]]] = [
    # cashtags, any ticker
    ("$TSLA jumps after deliveries beat estimates", {"TSLA"}),
    ("$aapl and $MSFT lead the Nasdaq higher", {"AAPL", "MSFT"}),
    ("$BRK.B hits a record as Buffett letter lands", {"BRK.B"}),
    ("Small-cap $ZZZQ soars 40% on buyout rumour", {"ZZZQ"}),
    # exchange prefixes
    ("Caterpillar (NYSE: CAT) raises full-year outlook", {"CAT"}),
    ("Shares of NASDAQ:NVDA slip after export curbs", {"NVDA"}),
    ("Acme Widgets (NYSE American: ACMW) prices offering", {"ACMW"}),
    ("BP (LSE: BP) to cut oil output", {"BP"}),
    # parenthesised tickers
    ("Apellis Pharmaceuticals (APLS) Investor Presentation", {"APLS"}),
    ("Tesla (TSLA) recalls 200,000 vehicles over camera fault", {"TSLA"}),
    ("Securities and Exchange Commission (SEC) fines broker-dealer", set()),
    ("European Central Bank (ECB) holds rates steady", set()),
    ("Gross domestic product (GDP) grew 2% last quarter", set()),
    # company names and aliases
    ("Apple shares fall 5% after weak iPhone sales in China", {"AAPL"}),
    ("Google parent Alphabet faces new antitrust suit", {"GOOGL"}),
    ("JPMorgan and Goldman Sachs lift trading revenue", {"JPM", "GS"}),
    ("Lowe\u2019s beats estimates as housing steadies", {"LOW"}),
    ("Microsoft to buy gaming studio; Nvidia unveils chip", {"MSFT", "NVDA"}),
    ("Coca-Cola and PepsiCo raise prices again", {"KO", "PEP"}),
    ("AT&T and Verizon bid for spectrum", {"T", "VZ"}),
    # bare upper-case tickers that are not words
    ("MSFT and NVDA lead tech rally", {"MSFT", "NVDA"}),
    ("AAPL options volume surges ahead of results", {"AAPL"}),
    # ambiguous tickers that are words: only with financial context
    ("Spy agency warns of cyber attacks on banks", set()),
    ("SPY ETF sees record outflows", set()),
    ("$SPY slides as yields jump", {"SPY"}),
    ("Cat videos are all the rage; it is now on every phone", set()),
    ("ALL eyes on the Fed as IT budgets shrink", set()),
    ("IT spending slows as CIOs cut budgets", set()),
    ("Gartner shares climb after strong quarter", {"IT"}),
    ("Gartner (IT) lifts guidance", {"IT"}),
    ("Allstate lifts dividend; ALL shares rise", {"ALL"}),
    ("NOW is the time to buy, says strategist", set()),
    ("ServiceNow (NYSE: NOW) beats estimates", {"NOW"}),
    ("ON Semiconductor shares slide on weak outlook", {"ON"}),
    ("Stocks are ON the move; KEY data due", set()),
    ("Ford to build new plant in Kentucky", set()),
    ("Ford shares slide after recall", {"F"}),
    ("Target practice: how to hit the target", set()),
    ("Target Corp cuts forecast as shoppers pull back", {"TGT"}),
    ("Delta variant spreads across Europe", set()),
    ("Delta Air Lines raises profit forecast", {"DAL"}),
    ("F-35 program faces delays", set()),
    ("CEO of the year: who leads in AI?", set()),
    # all-caps text: bare tickers and names are not trusted
    ("APPLE AND MSFT SHARES RALLY IN LATE TRADING", set()),
]


@pytest.mark.parametrize(("headline", "expected"), HEADLINES)
def test_headline_tickers(tagger: EntityTagger, headline: str, expected: set[str]) -> None:
    assert {e.ticker for e in tagger.tag(headline)} == expected


def test_table_has_at_least_30_headlines_with_ambiguous_cases() -> None:
    ambiguous = {"SPY", "ALL", "CAT", "IT", "ON", "NOW", "F"}
    assert len(HEADLINES) >= 30
    mentioned = {t for h, _ in HEADLINES for t in ambiguous if t in h.upper().split()}
    assert mentioned >= {"SPY", "ALL", "CAT", "IT", "ON", "NOW"}


def test_relevance_headline_beats_lead_beats_body(tagger: EntityTagger) -> None:
    body = (
        "Apple said sales rose. " + "Filler sentence about markets. " * 20 + "Microsoft was mentioned late."
    )
    mentions = {e.ticker: e.relevance for e in tagger.tag("Tesla cuts prices", body)}
    assert mentions["TSLA"] > mentions["AAPL"] > mentions["MSFT"] > 0
    assert all(0.0 <= r <= 1.0 for r in mentions.values())


def test_relevance_grows_with_frequency(tagger: EntityTagger) -> None:
    once = tagger.tag("Markets today", "Tesla rose. Other news followed.")[0].relevance
    thrice = tagger.tag("Markets today", "Tesla rose. Tesla sold cars. Tesla grew.")[0].relevance
    assert thrice > once


def test_one_mention_written_twice_counts_once(tagger: EntityTagger) -> None:
    single = tagger.tag("Caterpillar raises outlook")[0].relevance
    assert tagger.tag("Caterpillar (NYSE: CAT) raises outlook")[0].relevance == single


def test_entities_are_sorted_by_relevance(tagger: EntityTagger) -> None:
    entities = tagger.tag("Tesla falls", "Ford and GM shares rise on EV credit. Tesla again.")
    relevances = [e.relevance for e in entities]
    assert relevances == sorted(relevances, reverse=True)
    assert entities[0].ticker == "TSLA"
    assert entities[0].name == "Tesla Inc."


def test_declared_tickers_get_a_floor(tagger: EntityTagger) -> None:
    entities = {
        e.ticker: e.relevance for e in tagger.tag("Quarterly update", "", declared=["$xyzq", " aapl "])
    }
    assert entities == {"XYZQ": 0.5, "AAPL": 0.5}
    boosted = {e.ticker: e.relevance for e in tagger.tag("Apple rallies", "", declared=["AAPL"])}
    assert boosted["AAPL"] > 0.5


def test_user_table_extends_and_overrides(tmp_path: Path) -> None:
    extra = tmp_path / "mine.csv"
    extra.write_text(
        "ticker,name,aliases,exchange,ambiguous\n"
        "ACMQ,Acme Robotics,Acme,NASDAQ,0\n"
        "AAPL,Apple Inc.,Apple|Cupertino giant,NASDAQ,0\n",
        encoding="utf-8",
    )
    table = TickerTable.from_csv([extra])
    tagger = EntityTagger(table)
    assert len(table) == len(default_ticker_table()) + 1
    assert {e.ticker for e in tagger.tag("Acme shares jump; Cupertino giant slips")} == {"ACMQ", "AAPL"}


@pytest.mark.parametrize(
    "content",
    ["ticker,name\n,No ticker\n", "ticker,name\nGOOD,\n", "ticker,name\nbad ticker!,Name\n"],
)
def test_malformed_user_table_names_file_and_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceConfigError, match=r"bad\.csv line 2"):
        TickerTable.from_csv([path])


def test_missing_user_table_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match=r"nope\.csv"):
        TickerTable.from_csv([tmp_path / "nope.csv"])


def test_bundled_table_is_large_and_marks_word_tickers_ambiguous() -> None:
    table = default_ticker_table()
    assert len(table) >= 250
    for ticker in ("SPY", "ALL", "CAT", "IT", "ON", "NOW", "F", "T"):
        assert table.is_ambiguous(ticker), ticker
    for ticker in ("AAPL", "MSFT", "NVDA", "TSLA"):
        assert not table.is_ambiguous(ticker), ticker
