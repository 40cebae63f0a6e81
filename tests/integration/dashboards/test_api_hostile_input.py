"""Bad parameters get 422 naming the field; SQL-injection strings are just text.

Every free-text parameter receives classic injection strings: the answer is a normal, empty
result (or 404 for ids), and afterwards every table still exists with its rows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text

from tests.support.dashboards_seed import AUTH, ScoredArticle

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE articles; --",
    "1; DELETE FROM scores",
    "%' UNION SELECT id, title FROM articles --",
    "\\' OR 1=1 /*",
    "%_%",
    "$(whoami)",
    "AAPL'--",
]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"topic": 20}, "topic"),
        ({"topic": "energy"}, "topic"),
        ({"sentiment": "bullish"}, "sentiment"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"sort": "title; DROP TABLE articles"}, "sort"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, "end"),
        ({"scored": "maybe"}, "scored"),
        ({"ticker": "X" * 33}, "ticker"),
    ],
)
def test_bad_article_parameters_get_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/articles", params=params)
    assert response.status_code == 422
    assert field in [err["loc"][-1] for err in response.json()["detail"]]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/aggregates", {"bucket": "2m"}, "bucket"),
        ("/api/aggregates", {"scope": "sector"}, "scope"),
        ("/api/aggregates", {"scope": "topic", "key": "no such topic"}, "key"),
        ("/api/aggregates", {"scope": "all", "key": "5"}, "key"),
        ("/api/aggregates", {"bucket": "1m", "start": "2000-01-01T00:00:00Z"}, "start"),
        ("/api/aggregates", {"max_series": 0}, "max_series"),
        ("/api/alerts", {"status": "closed"}, "status"),
        ("/api/alerts", {"scope_kind": "sector"}, "scope_kind"),
        ("/api/alerts", {"sort": "id"}, "sort"),
        ("/api/labels/queue", {"limit": 1000}, "limit"),
        ("/api/labels/queue", {"topic": -1}, "topic"),
    ],
)
def test_bad_parameters_get_422_naming_the_field(
    client: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert field in [err["loc"][-1] for err in response.json()["detail"]]


def _schema_snapshot(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def test_injection_strings_are_plain_text(
    client: TestClient, db_engine: Engine, seeded: list[ScoredArticle]
) -> None:
    before = _schema_snapshot(db_engine)
    assert before["articles"] == len(seeded) and "scores" in before
    for evil in INJECTIONS:  # one seeded database for all strings (the parameters are the cases)
        _probe_every_text_parameter(client, evil)
    assert _schema_snapshot(db_engine) == before


def _probe_every_text_parameter(client: TestClient, evil: str) -> None:
    # Within each parameter's length limit (a longer value is a 422, tested above).
    for param, limit in (("q", 200), ("ticker", 32), ("source", 128), ("model_version", 64)):
        response = client.get("/api/articles", params={param: evil[:limit]})
        assert response.status_code == 200, (evil, param, response.text)
        assert response.json()["items"] == [] and response.json()["total"] == 0, (evil, param)
    entity = client.get("/api/aggregates", params={"scope": "entity", "key": evil}).json()
    assert entity["series"] == []
    for param in ("severity", "scope_value", "rule_id"):
        alerts = client.get("/api/alerts", params={param: evil[:16]})
        assert alerts.status_code == 200 and alerts.json()["items"] == [], param
    assert client.get("/api/models", params={"status": evil[:16]}).json() == []
    assert client.get(f"/api/articles/{quote(evil, safe='')}").status_code == 404
    assert client.post(f"/api/models/{quote(evil, safe='')}/promote", headers=AUTH).status_code == 404
    label = {"article_id": evil, "sentiment": "neutral", "labeled_by": evil}
    assert client.post("/api/labels", json=label, headers=AUTH).status_code == 404, evil


def test_injection_in_stored_text_round_trips(client: TestClient, db_engine: Engine) -> None:
    evil = INJECTIONS[1]
    body = {"text": evil, "sentiment": "negative", "labeled_by": evil}
    stored = client.post("/api/labels", json=body, headers=AUTH).json()
    assert stored["text"] == evil and stored["labeled_by"] == evil
    hook = client.post("/api/webhooks", json={"url": "https://example.com/?q=' OR 1=1"}, headers=AUTH)
    assert hook.status_code == 201
    assert "articles" in _schema_snapshot(db_engine)
