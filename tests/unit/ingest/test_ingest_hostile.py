"""Hostile input never crashes the parsers: malformed XML, wrong encodings, binary bodies, huge
pages, scripts, missing dates, relative links. Bad items come back as counted BadItems."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finsent.ingest.config import FieldMap
from finsent.ingest.entities import EntityTagger
from finsent.ingest.exceptions import BadItemError, BodyTooLargeError
from finsent.ingest.items import BadItem, RawItem
from finsent.ingest.normalize import Normalizer
from finsent.ingest.sources import extract_article, extract_links, parse_feed, parse_json_items
from finsent.ingest.text import clean_text
from finsent.ingest.times import parse_time
from finsent.ingest.urls import canonical_url, resolve_url

NOW = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
BASE = "https://news.example.com/feed"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NORMALIZER = Normalizer(EntityTagger(), detect_languages=False)

GOOD_ITEM = "<item><title>{title}</title><link>{link}</link><description>{desc}</description>{date}</item>"
junk_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
xml_fragments = st.sampled_from(
    [
        "<",
        ">",
        "&",
        "&amp;",
        "&#0;",
        "&bogus;",
        "]]>",
        "<![CDATA[",
        "<script>alert(1)</script>",
        "\x00",
        "\ufffe",
        "<item>",
        "</item>",
        "<title>",
        "</channel>",
        '<?xml version="1.0" encoding="latin-1"?>',
        "\xe9",
        "\r\n",
    ]
)


def _rss(items: list[str], encoding: str = "utf-8") -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
    return (head + "".join(items) + "</channel></rss>").encode(encoding, errors="replace")


def _check_feed_result(body: bytes) -> None:
    result = parse_feed(body, source_id="hostile", base_url=BASE, fetched_at=NOW)
    assert all(isinstance(b, BadItem) and b.source_id == "hostile" and b.reason for b in result.bad)
    for item in result.items:
        try:
            article = NORMALIZER.normalize(item)
        except BadItemError:
            continue
        assert article.title and article.published_at.tzinfo is not None
        assert article.url is None or article.url.startswith(("http://", "https://"))


@FAST
@given(st.binary(max_size=2000))
def test_binary_bodies_never_crash_the_feed_parser(body: bytes) -> None:
    _check_feed_result(body)


@FAST
@given(st.lists(st.one_of(xml_fragments, junk_text), max_size=30))
def test_malformed_xml_never_crashes(parts: list[str]) -> None:
    _check_feed_result(_rss(["".join(parts)]))
    _check_feed_result("".join(parts).encode("utf-8", errors="surrogatepass"))


@FAST
@given(
    title=junk_text,
    desc=junk_text,
    link=st.one_of(
        st.just(""), st.just("/relative/path"), st.just("../up"), st.just("javascript:x()"), junk_text
    ),
    date=st.one_of(
        st.just(""), st.just("<pubDate>not a date</pubDate>"), st.just("<pubDate>Wed, 01 May 2024</pubDate>")
    ),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252", "ascii"]),
)
def test_feed_items_with_odd_fields_and_encodings(
    title: str, desc: str, link: str, date: str, encoding: str
) -> None:
    escape = str.maketrans({"<": "&lt;", "&": "&amp;"})
    item = GOOD_ITEM.format(
        title=title.translate(escape), link=link.translate(escape), desc=desc.translate(escape), date=date
    )
    _check_feed_result(_rss([item], encoding))


def test_wrongly_declared_encoding_still_yields_text() -> None:
    body = _rss(
        [GOOD_ITEM.format(title="Caf\xe9 chain shares rise", link="/a", desc="d", date="")], "latin-1"
    )
    body = body.replace(b'encoding="latin-1"', b'encoding="utf-8"')  # lies about its encoding
    result = parse_feed(body, source_id="s", base_url=BASE, fetched_at=NOW)
    assert len(result.items) + len(result.bad) >= 1


@FAST
@given(st.binary(max_size=3000))
def test_json_api_never_crashes(body: bytes) -> None:
    result = parse_json_items(
        body, source_id="api", items_path="items", fields=FieldMap(), base_url=BASE, fetched_at=NOW
    )
    assert result.items or result.bad


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60)
json_values = (
    _scalars | st.lists(_scalars, max_size=3) | st.dictionaries(st.text(max_size=6), _scalars, max_size=3)
)


@FEW
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["title", "body", "url", "published_at", "id", "tickers"]), json_values
        )
    )
)
def test_json_records_with_any_values(records: list[dict[str, object]]) -> None:
    import json

    body = json.dumps({"items": records}, default=str).encode()
    result = parse_json_items(
        body, source_id="api", items_path="items", fields=FieldMap(), base_url=BASE, fetched_at=NOW
    )
    assert len(result.items) + len(result.bad) == len(records)
    for item in result.items:
        with contextlib.suppress(BadItemError):
            NORMALIZER.normalize(item)


@FEW
@given(
    st.binary(max_size=3000)
    | junk_text.map(lambda t: f"<html><script>{t}</script><p>{t}</p></html>".encode())
)
def test_article_extraction_only_raises_bad_item(body: bytes) -> None:
    try:
        page = extract_article(body, "https://news.example.com/a")
    except BadItemError:
        return
    assert isinstance(page.text, str) and "<script" not in page.text


def test_ten_megabyte_page_is_refused_before_parsing() -> None:
    paragraph = "<p>" + "Shares of the company rose after results. " * 20 + "</p>"
    body = ("<html><body><article>" + paragraph * 12_000 + "</article></body></html>").encode()
    assert len(body) > 10_000_000
    with pytest.raises(BodyTooLargeError, match="extraction limit"):
        extract_article(body, "https://news.example.com/huge")
    links = extract_links(b'<a href="/x">x</a>' * 1000 + body[:1_000_000], "https://news.example.com/")
    assert links == ["https://news.example.com/x"]


def test_page_just_under_the_limit_is_parsed_or_refused_cleanly() -> None:
    paragraph = "<p>" + "Shares of the company rose after results. " * 20 + "</p>"
    body = ("<html><body><article>" + paragraph * 300 + "</article></body></html>").encode()
    page = extract_article(body, "https://news.example.com/big")
    assert page.text.startswith("Shares of the company rose")


@FAST
@given(
    junk_text,
    junk_text,
    st.one_of(st.none(), junk_text),
    st.one_of(st.none(), junk_text, st.integers(), st.floats()),
)
def test_normalizer_on_any_text(title: str, body: str, url: str | None, published: object) -> None:
    raw = RawItem("s", title, body=body, url=url, published=published, base_url=BASE, fetched_at=NOW)
    try:
        article = NORMALIZER.normalize(raw)
    except BadItemError:
        assert not clean_text(title) and not clean_text(body)
        return
    assert article.title == article.title.strip() and "  " not in article.title
    assert 0 <= article.simhash < 2**64
    assert all(0.0 <= e.relevance <= 1.0 for e in article.entities)


@FAST
@given(junk_text)
def test_small_helpers_never_raise(text: str) -> None:
    clean_text(text)
    parse_time(text)
    canonical_url(text)
    resolve_url(text, BASE)
    NORMALIZER.tagger.tag(text, text)
