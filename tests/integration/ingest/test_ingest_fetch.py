"""The polite fetcher against a real local HTTP server."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from ingest_news_server import NewsServer
from sqlalchemy import Engine

from finsent.ingest.exceptions import (
    BadItemError,
    BlockedURLError,
    BodyTooLargeError,
    FetchError,
    RobotsDisallowedError,
)
from finsent.ingest.fetch import Fetcher, FetchPolicy, SqlCrawlState

pytestmark = pytest.mark.integration

UA = "finsent-test/1.0 (+https://example.invalid/bot)"


def _policy(**overrides: object) -> FetchPolicy:
    base: dict[str, object] = {
        "user_agent": UA,
        "timeout_s": 2.0,
        "allow_private": True,
        "per_host_interval_s": 0.0,
        "retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    return replace(FetchPolicy.default(), **{**base, **overrides})  # type: ignore[arg-type]


def test_user_agent_and_robots(news_server: NewsServer) -> None:
    news_server.route("/news/a", "<p>a</p>")
    news_server.route("/private/secret", "<p>secret</p>")
    with Fetcher(_policy()) as fetcher:
        assert fetcher.get(f"{news_server.base}/news/a", source_id="s").body == b"<p>a</p>"
        with pytest.raises(RobotsDisallowedError):
            fetcher.get(f"{news_server.base}/private/secret", source_id="s")
        fetcher.get(f"{news_server.base}/news/a", source_id="s")
    assert news_server.hits_for("/private/secret") == []
    assert len(news_server.hits_for("/robots.txt")) == 1  # cached per host
    assert {h.headers["user-agent"] for h in news_server.hits} == {UA}


def test_a_robots_txt_that_bans_our_agent(news_server: NewsServer) -> None:
    news_server.route("/news/a", "<p>a</p>")
    with Fetcher(_policy(user_agent="badbot/2.0")) as fetcher, pytest.raises(RobotsDisallowedError):
        fetcher.get(f"{news_server.base}/news/a", source_id="s")
    assert news_server.hits_for("/news/a") == []


def test_missing_robots_allows_and_unreachable_robots_blocks(news_server: NewsServer) -> None:
    del news_server.routes["/robots.txt"]
    news_server.route("/a", "ok")
    with Fetcher(_policy()) as fetcher:
        assert fetcher.get(f"{news_server.base}/a", source_id="s").status == 200
    news_server.route("/robots.txt", "", status=500)
    with Fetcher(_policy()) as fetcher, pytest.raises(FetchError, match=r"robots\.txt"):
        fetcher.get(f"{news_server.base}/a", source_id="s")


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_conditional_get_costs_one_304(news_server: NewsServer, validator: str) -> None:
    kwargs = {"etag": '"v1"'} if validator == "etag" else {"last_modified": "Wed, 01 May 2024 13:45:00 GMT"}
    news_server.route("/feed.xml", "<rss/>", content_type="application/rss+xml", **kwargs)
    with Fetcher(_policy()) as fetcher:
        first = fetcher.get(f"{news_server.base}/feed.xml", source_id="s")
        second = fetcher.get(f"{news_server.base}/feed.xml", source_id="s")
    assert first.status == 200 and not first.not_modified
    assert second.status == 304 and second.not_modified and second.body == b""
    header = "if-none-match" if validator == "etag" else "if-modified-since"
    assert [header in h.headers for h in news_server.hits_for("/feed.xml")] == [False, True]


def test_validators_survive_a_restart_in_postgres(news_server: NewsServer, db_engine: Engine) -> None:
    news_server.route("/feed.xml", "<rss/>", etag='"abc"')
    url = f"{news_server.base}/feed.xml"
    with Fetcher(_policy(), SqlCrawlState(db_engine)) as fetcher:
        assert fetcher.get(url, source_id="wire").status == 200
    state = SqlCrawlState(db_engine).get(url)
    assert (
        state is not None and state.etag == '"abc"' and state.source_id == "wire" and state.last_status == 200
    )
    with Fetcher(_policy(), SqlCrawlState(db_engine)) as restarted:  # a new process, same database
        assert restarted.get(url, source_id="wire").not_modified


def test_deferred_state_is_only_stored_on_commit(news_server: NewsServer) -> None:
    news_server.route("/feed.xml", "<rss/>", etag='"v1"')
    with Fetcher(_policy()) as fetcher:
        response = fetcher.get(f"{news_server.base}/feed.xml", source_id="s", defer_state=True)
        assert fetcher.state.get(f"{news_server.base}/feed.xml") is None
        assert response.state is not None
        fetcher.commit(response.state)
        assert fetcher.get(f"{news_server.base}/feed.xml", source_id="s").not_modified


def test_5xx_is_retried_with_backoff_then_succeeds(news_server: NewsServer) -> None:
    news_server.route("/flaky", "finally", fail_first=2)
    with Fetcher(_policy()) as fetcher:
        assert fetcher.get(f"{news_server.base}/flaky", source_id="s").body == b"finally"
    assert [h.status for h in news_server.hits_for("/flaky")] == [503, 503, 200]


def test_persistent_5xx_gives_up_and_counts_failures(news_server: NewsServer) -> None:
    news_server.route("/down", "", status=502)
    with Fetcher(_policy(retries=2)) as fetcher:
        with pytest.raises(FetchError, match="HTTP 502"):
            fetcher.get(f"{news_server.base}/down", source_id="s")
        state = fetcher.state.get(f"{news_server.base}/down")
    assert state is not None and state.failures == 1 and state.last_status == 502
    assert len(news_server.hits_for("/down")) == 2


def test_4xx_is_not_retried(news_server: NewsServer) -> None:
    with Fetcher(_policy()) as fetcher, pytest.raises(BadItemError, match="HTTP 404"):
        fetcher.get(f"{news_server.base}/missing", source_id="s")
    assert len(news_server.hits_for("/missing")) == 1


def test_slow_server_hits_the_timeout(news_server: NewsServer) -> None:
    news_server.route("/slow", "late", delay_s=1.5)
    started = time.monotonic()
    with Fetcher(_policy(timeout_s=0.3, retries=2)) as fetcher, pytest.raises(FetchError, match="timeout"):
        fetcher.get(f"{news_server.base}/slow", source_id="s")
    assert time.monotonic() - started < 1.5 * 2  # gave up on each attempt before the server answered
    assert len(news_server.hits_for("/slow")) == 2


@pytest.mark.parametrize("chunked", [False, True])
def test_body_size_limit(news_server: NewsServer, chunked: bool) -> None:
    news_server.route("/huge", b"x" * 300_000, chunked=chunked)
    with Fetcher(_policy(max_body_bytes=100_000)) as fetcher, pytest.raises(BodyTooLargeError):
        fetcher.get(f"{news_server.base}/huge", source_id="s")


def test_private_addresses_are_refused_unless_allowed(news_server: NewsServer) -> None:
    news_server.route("/a", "ok")
    with Fetcher(_policy(allow_private=False)) as fetcher, pytest.raises(BlockedURLError):
        fetcher.get(f"{news_server.base}/a", source_id="s")
    assert news_server.hits == []  # not even robots.txt was requested


def test_per_host_rate_limit(news_server: NewsServer) -> None:
    news_server.route("/a", "ok")
    with Fetcher(_policy(per_host_interval_s=0.25)) as fetcher:
        started = time.monotonic()
        for _ in range(3):
            fetcher.get(f"{news_server.base}/a", source_id="s", conditional=False)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.25 * 3  # robots.txt + three pages, spaced 0.25 s apart


def test_redirects_are_followed_and_guarded(news_server: NewsServer) -> None:
    news_server.route("/target", "landed")
    news_server.route("/old", "", status=301, location="/target")
    news_server.route("/evil", "", status=302, location="file:///etc/passwd")
    with Fetcher(_policy()) as fetcher:
        response = fetcher.get(f"{news_server.base}/old", source_id="s")
        assert response.body == b"landed" and response.url.endswith("/target")
        with pytest.raises(BlockedURLError):
            fetcher.get(f"{news_server.base}/evil", source_id="s")
