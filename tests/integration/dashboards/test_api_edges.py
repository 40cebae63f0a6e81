"""The API's edges (issue 14): sizes, NUL bytes, NaN, error echoes, 5xx metrics, SSRF, brute force.

What happens, in each case: the request is refused with a 4xx naming what is wrong, before it
costs memory or reaches PostgreSQL, and the API keeps answering everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from finsent.core.settings import Settings
from finsent.dashboards.api import create_app
from tests.support.dashboards_seed import API_TOKEN, AUTH

LIMIT = 4096


@pytest.fixture
def edge_client(db_engine: Engine, settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    settings = settings_factory(
        api={"token": API_TOKEN, "max_body_bytes": LIMIT, "auth_failures_per_minute": 5}
    )
    with TestClient(create_app(settings, db_engine), raise_server_exceptions=False) as client:
        yield client


def _requests_total(client: TestClient, status: int) -> float:
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("finsent_api_requests_total{") and f'status="{status}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_body_over_the_limit_is_413_before_auth(edge_client: TestClient) -> None:
    body = b'{"url": "' + b"a" * (LIMIT * 4) + b'"}'
    unauthenticated = edge_client.post(
        "/api/webhooks", content=body, headers={"Content-Type": "application/json"}
    )
    assert unauthenticated.status_code == 413
    assert len(unauthenticated.content) < 200


def test_streamed_body_is_cut_at_the_limit(edge_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 64 KiB in all, no Content-Length
            yield b"x" * 1024

    response = edge_client.post(
        "/api/labels", content=chunks(), headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert response.status_code == 413


def test_422_does_not_echo_large_inputs(edge_client: TestClient) -> None:
    big = "b" * 3000
    response = edge_client.post("/api/labels", json={"labeled_by": big, "text": "x"}, headers=AUTH)
    assert response.status_code == 422
    assert "labeled_by" in response.json()["detail"][0]["loc"]
    assert len(response.content) < 600 and big not in response.text
    small = edge_client.get("/api/articles", params={"limit": 0})
    assert small.json()["detail"][0]["input"] == "0"  # short inputs are still shown


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/api/articles", {"ticker": "AA\x00PL"}, "ticker"),
        ("/api/articles", {"q": "bank\x00"}, "q"),
        ("/api/articles", {"source": "\x00"}, "source"),
        ("/api/alerts", {"rule_id": "r\x00"}, "rule_id"),
        ("/api/alerts", {"scope_value": "ACMR\x00"}, "scope_value"),
        ("/api/aggregates", {"key": "\x00"}, "key"),
    ],
)
def test_nul_in_a_parameter_is_422(
    edge_client: TestClient, path: str, params: dict[str, str], where: str
) -> None:
    response = edge_client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", where]


def test_nul_in_the_path_and_in_json_strings_is_422(edge_client: TestClient) -> None:
    assert edge_client.get("/api/articles/%00").status_code == 422
    response = edge_client.post("/api/labels", json={"labeled_by": "ana\x00", "text": "x"}, headers=AUTH)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "labeled_by"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_a_json_body_is_422(edge_client: TestClient, constant: str) -> None:
    body = '{"url": "https://93.184.215.14/hook", "filters": {"min_value": ' + constant + "}}"
    response = edge_client.post(
        "/api/webhooks", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422 and constant.lstrip("-") in response.text
    assert edge_client.get("/api/webhooks", headers=AUTH).json() == []


def test_every_5xx_is_counted(edge_client: TestClient, db_engine: Engine) -> None:
    before = _requests_total(edge_client, 500)
    with db_engine.begin() as conn:
        conn.execute(text("ALTER TABLE alerts RENAME TO alerts_away"))
    try:
        assert edge_client.get("/api/alerts").status_code == 500
    finally:
        with db_engine.begin() as conn:
            conn.execute(text("ALTER TABLE alerts_away RENAME TO alerts"))
    assert _requests_total(edge_client, 500) == before + 1
    assert edge_client.get("/api/alerts").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8000/",
        "http://localhost:5432/",
        "http://0x7f000001/",
        "http://127.0.0.1:8000/api/webhooks",
        "http://10.0.0.8/hook",
        "http://user:s3cr3t@93.184.215.14/hook",
    ],
)
def test_webhook_subscriptions_to_internal_addresses_are_refused(edge_client: TestClient, url: str) -> None:
    response = edge_client.post("/api/webhooks", json={"url": url}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "url"]
    assert "s3cr3t" not in response.text


def test_allow_listed_internal_receiver_is_accepted(
    db_engine: Engine, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(api={"token": API_TOKEN}, alerts={"webhook_allow": ["10.2.0.0/16"]})
    with TestClient(create_app(settings, db_engine)) as client:
        assert (
            client.post("/api/webhooks", json={"url": "http://10.2.0.9/hook"}, headers=AUTH).status_code
            == 201
        )
        assert (
            client.post("/api/webhooks", json={"url": "http://10.3.0.9/hook"}, headers=AUTH).status_code
            == 422
        )


def test_failed_authentication_is_rate_limited_per_client(edge_client: TestClient) -> None:
    wrong = {"Authorization": "Bearer not-the-token"}
    codes = [
        edge_client.post("/api/alerts/1/ack", json={"by": "x"}, headers=wrong).status_code for _ in range(8)
    ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    limited = edge_client.post("/api/alerts/1/ack", json={"by": "x"}, headers=AUTH)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert edge_client.get("/api/articles").status_code == 200  # reads are not affected
