"""The company universe: bundled markets, canonical tickers, `finsent entities import`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsent.cli import app
from finsent.ingest.entities import EntityTagger
from finsent.ingest.exceptions import UniverseFileError
from finsent.ingest.universe import TickerTable, default_ticker_table, import_universe


def test_bundled_universe_covers_us_uk_eu_and_asia() -> None:
    markets = default_ticker_table().by_market()
    assert len(default_ticker_table()) >= 1500
    assert markets["US"] >= 800 and markets["UK"] >= 80 and markets["EU"] >= 250 and markets["JP"] >= 200


@pytest.mark.parametrize(("other", "canonical"), [("GOOG", "GOOGL"), ("FB", "META"), ("BRK.A", "BRK.B")])
def test_share_classes_and_old_symbols_resolve_to_one_entity(other: str, canonical: str) -> None:
    table = default_ticker_table()
    assert table.canonical(other) == canonical
    assert other in table
    assert table.get(other) is table.get(canonical)


def test_a_company_row_beats_another_companys_other_ticker(tmp_path: Path) -> None:
    own = _write(
        tmp_path / "own.csv", "ticker,name,aliases,exchange,ambiguous\nGOOG,Goog Separate Co,,NASDAQ,0\n"
    )
    assert TickerTable.from_csv([own]).canonical("GOOG") == "GOOG"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_validates_every_row_and_stores_nothing_on_error(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "mine.csv",
        "ticker,name,aliases,exchange\nACMQ,Acme Quantum,Acme,NASDAQ\n,No Ticker,,\nbad!,X,,\nACMQ,Again,,\n",
    )
    target = tmp_path / "data" / "universe.csv"
    with pytest.raises(UniverseFileError) as info:
        import_universe(source, target)
    message = str(info.value)
    assert "3 bad row(s)" in message and "line 3" in message and "line 4" in message
    assert "line 5: ticker ACMQ already on line 2" in message
    assert not target.exists()


def test_import_without_ticker_column_is_bad_data(tmp_path: Path) -> None:
    with pytest.raises(UniverseFileError, match="ticker and name"):
        import_universe(_write(tmp_path / "x.csv", "symbol,company\nA,B\n"), tmp_path / "u.csv")


def test_import_flags_word_tickers_and_aliases_and_tags_with_them(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "mine.csv",
        "ticker,name,aliases,exchange\nACMQ,Acme Quantum,Acme|Quantum,NASDAQ\nBOLT,Bolt Robotics,,NASDAQ\n",
    )
    target = tmp_path / "universe.csv"
    companies = {c.ticker: c for c in import_universe(source, target)}
    assert companies["BOLT"].ambiguous  # "bolt" is an ordinary word
    assert "~Quantum" in companies["ACMQ"].aliases
    tagger = EntityTagger(TickerTable.from_csv([target]))
    assert {e.ticker for e in tagger.tag("Acme jumps; BOLT and Quantum physics")} == {"ACMQ"}
    assert {e.ticker for e in tagger.tag("Bolt Robotics shares jump")} == {"BOLT"}


def test_cli_import_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path / "data"))
    bad = _write(tmp_path / "bad.csv", "ticker,name\n,Nameless\n")
    result = CliRunner().invoke(app, ["entities", "import", str(bad)])
    assert result.exit_code == 65, result.output
    assert "bad.csv line 2" in result.output
    good = _write(tmp_path / "good.csv", "ticker,name,aliases,exchange\nACMQ,Acme Quantum,Acme,NASDAQ\n")
    result = CliRunner().invoke(app, ["entities", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "universe.csv").is_file()
    shown = CliRunner().invoke(app, ["entities", "show"])
    assert shown.exit_code == 0 and "present" in shown.output


def test_crawlers_tag_with_the_imported_universe_and_the_caps(tmp_path: Path) -> None:
    from finsent.core.settings import Settings
    from finsent.ingest.app import build_tagger, imported_universe_path
    from finsent.ingest.config import parse_sources

    settings = Settings(  # type: ignore[call-arg]  # pydantic-settings init option
        _env_file=None, data_dir=tmp_path, ingest={"max_entities_per_article": 2, "max_spans_per_entity": 1}
    )
    sources = parse_sources({"sources": [{"id": "f", "kind": "file", "path": str(tmp_path / "c.jsonl")}]})
    assert {e.ticker for e in build_tagger(sources, settings=settings).tag("Acme Quantum jumps")} == set()
    source = _write(tmp_path / "mine.csv", "ticker,name,aliases,exchange\nACMQ,Acme Quantum,Acme,NASDAQ\n")
    import_universe(source, imported_universe_path(settings))
    tagger = build_tagger(sources, settings=settings)
    (acme,) = tagger.tag("Acme Quantum jumps", "Acme again. Acme once more.")
    assert acme.ticker == "ACMQ" and len(acme.spans) == 1
    assert len(tagger.tag("Apple, Tesla and Nvidia rally")) == 2
