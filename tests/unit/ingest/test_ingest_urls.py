"""URL canonicalisation and the fetch guard."""

from __future__ import annotations

import pytest

from finsent.ingest.exceptions import BlockedURLError
from finsent.ingest.urls import canonical_url, check_url_allowed, is_public_address, resolve_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.COM/a/b?x=1#top", "https://news.example.com/a/b?x=1"),
        ("https://example.com/a?utm_source=tw&utm_medium=social&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=abc&gclid=def", "https://example.com/a"),
        ("https://example.com/a?UTM_Campaign=x&b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:443/x", "https://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/?", "https://example.com/"),
        ("https://example.com/a?msclkid=1&mc_cid=2&mc_eid=3&_ga=4", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("https://example.com/a?q=", "https://example.com/a?q="),
        ("ftp://example.com/file", None),
        ("javascript:alert(1)", None),
        ("mailto:someone@example.com", None),
        ("/relative/path", None),
        ("http://exa mple.com/", None),
        ("http://example.com:99999/", None),
        ("", None),
    ],
)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


def test_utm_variants_share_one_canonical_url() -> None:
    variants = [
        "https://example.com/story/1",
        "https://EXAMPLE.com/story/1?utm_source=rss",
        "https://example.com/story/1?utm_source=x&utm_medium=y#comments",
        "https://example.com:443/story/1?fbclid=zzz",
    ]
    assert len({canonical_url(v) for v in variants}) == 1


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        ("/news/2", "https://example.com/feed.xml", "https://example.com/news/2"),
        ("story.html", "https://example.com/news/", "https://example.com/news/story.html"),
        ("../up.html", "https://example.com/a/b/", "https://example.com/a/up.html"),
        ("https://other.org/x", "https://example.com/", "https://other.org/x"),
        ("javascript:void(0)", "https://example.com/", None),
        ("", "https://example.com/", None),
        (None, "https://example.com/", None),
        ("/x", None, None),
    ],
)
def test_resolve_url(href: str | None, base: str | None, expected: str | None) -> None:
    assert resolve_url(href, base) == expected


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/a", "gopher://x/", "data:text/html,hi", "http:///nohost"],
)
def test_non_http_urls_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_url_allowed(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/feed",
        "http://localhost/feed",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_and_loopback_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(BlockedURLError, match="non-public"):
        check_url_allowed(url, allow_private=False)
    check_url_allowed(url, allow_private=True)  # the setting lets them through


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("fe80::1%eth0", False),
        ("224.0.0.1", False),
        ("100.64.0.1", False),
        ("not an ip", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public
