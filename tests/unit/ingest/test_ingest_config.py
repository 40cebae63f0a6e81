"""The sources file: validation errors name the bad field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from finsent.ingest.config import (
    DemoSourceConfig,
    FileSourceConfig,
    JsonApiSourceConfig,
    load_sources,
    parse_sources,
)
from finsent.ingest.exceptions import SourceConfigError


def test_bundled_example_is_valid() -> None:
    text = resources.files("finsent.ingest").joinpath("data/sources.example.yaml").read_text(encoding="utf-8")
    parsed = parse_sources(__import__("yaml").safe_load(text))
    kinds = {s.kind for s in parsed.sources}
    assert kinds == {"demo", "rss", "html", "json", "file"}
    assert [s.id for s in parsed.enabled()] == ["demo"]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([{"id": "a", "kind": "rss"}], r"sources\[0\] \(id 'a'\)\.url: Field required"),
        ([{"id": "a", "kind": "rss", "url": "ftp://x"}], r"sources\[0\] \(id 'a'\)\.url: .*http"),
        ([{"id": "a", "kind": "rss", "url": "http://x", "interval_s": 0}], r"\.interval_s: .*greater than 0"),
        ([{"id": "a", "kind": "nope"}], r"sources\[0\] \(id 'a'\): .*'nope'"),
        ([{"id": "bad id!", "kind": "demo"}], r"sources\[0\] \(id 'bad id!'\)\.id: "),
        ([{"id": "a", "kind": "html"}], r"set urls, index_url, or both"),
        (
            [{"id": "a", "kind": "html", "urls": ["http://x"], "link_pattern": "(("}],
            r"link_pattern: .*regular",
        ),
        ([{"id": "a", "kind": "demo", "events": [{"ticker": "X", "start": "soon"}]}], r"events\[0\]\.start"),
        ([{"id": "a", "kind": "demo", "rate_per_min": -1}], r"rate_per_min"),
        ([{"id": "a", "kind": "rss", "url": "http://x", "colour": "red"}], r"\.colour: Extra inputs"),
        ([{"id": "a", "kind": "demo"}, {"id": "a", "kind": "demo"}], r"duplicate source id 'a'"),
        ([{"id": "a", "kind": "json", "url": "http://x", "fields": {"title": 3}}], r"fields\.title"),
    ],
)
def test_errors_name_the_bad_field(sources: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SourceConfigError, match=message):
        parse_sources({"sources": sources}, origin="s.yaml")


def test_top_level_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match=r"defaults\.max_workers"):
        parse_sources({"defaults": {"max_workers": 0}})
    with pytest.raises(SourceConfigError, match="expected a mapping"):
        parse_sources(["not", "a", "mapping"])
    bad_yaml = tmp_path / "s.yaml"
    bad_yaml.write_text("sources: [\n  - {id: a", encoding="utf-8")
    with pytest.raises(SourceConfigError, match="not valid YAML"):
        load_sources(bad_yaml)
    with pytest.raises(SourceConfigError, match="cannot read"):
        load_sources(tmp_path / "missing.yaml")
    assert parse_sources(None).sources == []


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "sources.yaml"
    path.parent.mkdir()
    path.write_text(
        "tickers_files: [extra.csv]\nsources:\n  - {id: f, kind: file, path: corpus.jsonl}\n",
        encoding="utf-8",
    )
    parsed = load_sources(path)
    source = parsed.sources[0]
    assert isinstance(source, FileSourceConfig)
    assert source.path == tmp_path / "conf" / "corpus.jsonl"
    assert parsed.tickers_files == [tmp_path / "conf" / "extra.csv"]


def test_header_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    source = {"id": "api", "kind": "json", "url": "http://x", "headers": {"X-Key": "k-${NEWS_KEY}"}}
    monkeypatch.delenv("NEWS_KEY", raising=False)
    with pytest.raises(SourceConfigError, match="NEWS_KEY is not set"):
        parse_sources({"sources": [source]})
    assert parse_sources({"sources": [{**source, "enabled": False}]}).sources[0].enabled is False
    monkeypatch.setenv("NEWS_KEY", "s3cret")
    parsed = parse_sources({"sources": [source]}).sources[0]
    assert isinstance(parsed, JsonApiSourceConfig)
    assert parsed.headers == {"X-Key": "k-s3cret"}


def test_intervals_and_event_offsets() -> None:
    parsed = parse_sources(
        {
            "defaults": {"interval_s": 42},
            "sources": [
                {"id": "a", "kind": "demo"},
                {"id": "b", "kind": "demo", "interval_s": 5, "events": [{"ticker": "X", "start": "+10m"}]},
                {"id": "c", "kind": "demo", "events": [{"ticker": "Y", "start": "2025-01-06T14:00:00"}]},
            ],
        }
    )
    a, b, c = parsed.sources
    assert parsed.interval_of(a) == 42 and parsed.interval_of(b) == 5
    origin = datetime(2025, 1, 1, tzinfo=UTC)
    assert isinstance(b, DemoSourceConfig) and isinstance(c, DemoSourceConfig)
    assert b.events[0].start_at(origin) == origin + timedelta(minutes=10)
    assert c.events[0].start_at(origin) == datetime(2025, 1, 6, 14, tzinfo=UTC)
