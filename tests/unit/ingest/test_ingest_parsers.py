"""Source parsers without network: feeds, JSON APIs, corpus files, article pages, normalisation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ingest_samples import ARTICLE_HTML, ATOM, JSON_API, RSS

from finsent.ingest.config import FieldMap
from finsent.ingest.exceptions import BadItemError, SourceConfigError
from finsent.ingest.items import BadItem, RawItem
from finsent.ingest.normalize import Normalizer
from finsent.ingest.sources import (
    extract_article,
    extract_links,
    iter_file_items,
    parse_feed,
    parse_json_items,
)

BASE = "https://news.example.com"
NOW = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)


def test_rss_items_bad_entries_and_relative_links() -> None:
    result = parse_feed(
        RSS.format(base=BASE).encode(), source_id="wire", base_url=f"{BASE}/rss", fetched_at=NOW
    )
    assert [(i.item_id or "").rsplit("/", 1)[-1] for i in result.items] == ["wire-1", "wire-2"]
    assert result.items[1].url == f"{BASE}/news/ev-prices"
    assert len(result.bad) == 1 and "no title" in result.bad[0].reason

    normalizer = Normalizer(detect_languages=False)
    first, second = (normalizer.normalize(i) for i in result.items)
    assert first.canonical_url == f"{BASE}/news/apple-iphone"
    assert first.published_at == datetime(2024, 5, 1, 13, 45, tzinfo=UTC) and not first.published_at_estimated
    assert first.body == "Apple Inc (NASDAQ: AAPL) said iPhone sales in China dropped."
    assert first.tickers == ["AAPL"]
    assert second.title == "Tesla & Ford raise EV prices"
    assert second.published_at == NOW and second.published_at_estimated


def test_atom_entry_with_offset_time() -> None:
    result = parse_feed(
        ATOM.format(base=BASE).encode(), source_id="atom", base_url=f"{BASE}/atom", fetched_at=NOW
    )
    (item,) = result.items
    article = Normalizer(detect_languages=False).normalize(item)
    assert article.published_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert article.tickers == ["NVDA"] and article.url == f"{BASE}/atom/nvidia-chip"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>not a feed</body></html>",
        b"<rss><channel><item><title>x",
        b"\x00\xff\xfe\x00garbage",
    ],
)
def test_unreadable_feeds_are_one_bad_item(body: bytes) -> None:
    result = parse_feed(body, source_id="wire", base_url=BASE, fetched_at=NOW)
    assert len(result.items) + len(result.bad) >= 1 or body == b""
    assert all(isinstance(b, BadItem) and b.source_id == "wire" for b in result.bad)


def test_parse_feed_reads_every_entry() -> None:
    """No cut while parsing: the crawler keeps the first new ones and defers the rest."""
    items = "".join(f"<item><title>Story {i}</title><guid>g{i}</guid></item>" for i in range(50))
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    assert len(parse_feed(body, source_id="s", base_url=BASE, fetched_at=NOW).items) == 50


def test_json_api_mapping() -> None:
    fields = FieldMap(
        title="headline", body="summary", url="link", published_at="datetime", id="id", tickers="related"
    )
    result = parse_json_items(
        JSON_API.format(base=BASE).encode(),
        source_id="api",
        items_path="data.articles",
        fields=fields,
        base_url=f"{BASE}/api",
        fetched_at=NOW,
        tickers=("SPY",),
    )
    assert [i.item_id for i in result.items] == ["api-1", "api-2"]
    assert result.items[0].tickers == ("SPY", "MSFT", "ATVI")
    assert len(result.bad) == 2
    assert {b.key for b in result.bad} == {f"{BASE}/api#2", f"{BASE}/api#3"}
    article = Normalizer(detect_languages=False).normalize(result.items[0])
    assert article.published_at == datetime(2024, 5, 1, 13, 45, tzinfo=UTC)
    assert {"MSFT", "ATVI", "SPY"} <= set(article.tickers)


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        (b"{not json", "", "not JSON"),
        (b'{"data": {}}', "data.articles", "no list"),
        (b"[1, 2]", "x", "no list"),
    ],
)
def test_json_api_bad_documents(body: bytes, path: str, reason: str) -> None:
    result = parse_json_items(
        body, source_id="api", items_path=path, fields=FieldMap(), base_url=BASE, fetched_at=NOW
    )
    assert not result.items and reason in result.bad[0].reason


def test_jsonl_and_csv_corpora_with_bad_rows(tmp_path: Path) -> None:
    jsonl = tmp_path / "corpus.jsonl"
    rows = [
        {
            "id": "1",
            "title": "Apple rallies",
            "body": "b",
            "url": "https://x.example/1",
            "published_at": "2024-05-01",
        },
        {"id": "2", "title": "", "body": ""},
    ]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n\n", encoding="utf-8")
    entries = list(iter_file_items(jsonl, source_id="bf"))
    assert [type(e).__name__ for e in entries] == ["RawItem", "BadItem", "BadItem"]
    assert entries[2].key == "corpus.jsonl:3"  # type: ignore[union-attr]

    csv_path = tmp_path / "corpus.csv"
    csv_path.write_text('headline,text\n"Tesla, Inc. cuts prices","Body, with comma"\n,\n', encoding="utf-8")
    entries = list(iter_file_items(csv_path, source_id="bf", fields=FieldMap(title="headline", body="text")))
    assert isinstance(entries[0], RawItem) and entries[0].title == "Tesla, Inc. cuts prices"
    assert isinstance(entries[1], BadItem)


def test_unknown_corpus_format(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(SourceConfigError, match="set format"):
        list(iter_file_items(path, source_id="bf"))


def test_article_page_extraction_drops_scripts_and_menus() -> None:
    html = ARTICLE_HTML.format(
        title="Acme cuts outlook", lead="Acme Corp shares fell 8% on weak demand in Europe."
    )
    page = extract_article(html.encode(), f"{BASE}/a/1")
    assert page.title == "Acme cuts outlook"
    assert page.text.startswith("Acme Corp shares fell 8%")
    assert "window.track" not in page.text and "Home" not in page.text and "font-family" not in page.text
    assert page.published is not None and page.published.startswith("2024-05-01T13:45")


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"<html><body></body></html>", b"\x89PNG\r\n\x1a\n\x00\x00binary"]
)
def test_article_pages_without_text_are_bad(body: bytes) -> None:
    with pytest.raises(BadItemError):
        extract_article(body, f"{BASE}/a/2")


def test_links_are_resolved_filtered_and_unique() -> None:
    html = b"""<a href="/news/2024/a">a</a> <a href="news/2024/b?utm_source=x">b</a>
    <a href="/news/2024/a#frag">dup</a> <a href="javascript:void(0)">js</a> <a href="/about">about</a>
    <a href="mailto:x@y">mail</a> <a>no href</a>"""
    links = extract_links(html, f"{BASE}/index/", pattern=r"/news/\d{4}/")
    assert links == [f"{BASE}/news/2024/a", f"{BASE}/index/news/2024/b?utm_source=x"]


def test_normalizer_ids_titles_and_errors() -> None:
    normalizer = Normalizer(detect_languages=False)
    a = normalizer.normalize(RawItem("s1", "Title", url="https://x.example/p?utm_source=a", fetched_at=NOW))
    b = normalizer.normalize(RawItem("s2", "title", url="HTTPS://X.example/p#c", fetched_at=NOW))
    assert a.id == b.id and len(a.id) == 32  # one story under one canonical URL
    other = normalizer.normalize(RawItem("s2", "Other", url="HTTPS://X.example/p#c", fetched_at=NOW))
    assert other.id != a.id  # a shared link alone never merges distinct items
    by_item_id = normalizer.normalize(RawItem("s1", "Title", item_id="guid-1", fetched_at=NOW))
    assert by_item_id.id != normalizer.normalize(RawItem("s2", "Title", item_id="guid-1", fetched_at=NOW)).id
    untitled = normalizer.normalize(RawItem("s", "", body="Body first sentence. Second one.", fetched_at=NOW))
    assert untitled.title.startswith("Body first sentence")
    with pytest.raises(BadItemError):
        normalizer.normalize(RawItem("s", "<script>x()</script>", body="  ", fetched_at=NOW))
    same_text = normalizer.normalize(RawItem("s3", "title", body="BODY", fetched_at=NOW))
    assert (
        same_text.content_hash
        == normalizer.normalize(RawItem("s4", "Title", body="body", fetched_at=NOW)).content_hash
    )
