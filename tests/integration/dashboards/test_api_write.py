"""Write endpoints of the HTTP API: bearer token, happy paths, unknown ids, bad bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from finsent.storage.schema import Label, WebhookSubscription
from tests.support.dashboards_seed import AUTH, ScoredArticle, insert_alert, insert_scored, register_model

WRITES = [
    ("post", "/api/alerts/1/ack", {"by": "ana"}),
    ("get", "/api/webhooks", None),
    ("post", "/api/webhooks", {"url": "https://hooks.example.com/x"}),
    ("delete", "/api/webhooks/1", None),
    ("post", "/api/labels", {"text": "Oil falls", "sentiment": "negative", "labeled_by": "ana"}),
    ("post", "/api/models/v1/promote", None),
]


BAD_AUTH = [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic dGVzdDp0ZXN0"}]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_write_endpoints_need_the_bearer_token(
    client: TestClient, db_engine: Engine, method: str, path: str, body: Any
) -> None:
    for headers in BAD_AUTH:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Label)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(WebhookSubscription)).scalar_one() == 0


def test_ack_alert(client: TestClient, db_engine: Engine) -> None:
    alert_id = insert_alert(db_engine)
    first = client.post(f"/api/alerts/{alert_id}/ack", json={"by": "ana"}, headers=AUTH)
    assert first.status_code == 200
    assert first.json()["status"] == "acknowledged" and first.json()["acknowledged_by"] == "ana"
    again = client.post(f"/api/alerts/{alert_id}/ack", json={"by": "bob"}, headers=AUTH).json()
    assert again["acknowledged_by"] == "ana", "the first acknowledgement is kept"
    default = client.post(f"/api/alerts/{insert_alert(db_engine, rule_id='r2')}/ack", headers=AUTH)
    assert default.json()["acknowledged_by"] == "api"
    assert client.post("/api/alerts/999999/ack", headers=AUTH).status_code == 404


def test_webhook_crud(client: TestClient) -> None:
    created = client.post(
        "/api/webhooks",
        json={
            "url": "https://hooks.example.com/finsent",
            "format": "slack",
            "filters": {"min_severity": "warning", "scopes": ["entity:TSLA"]},
        },
        headers=AUTH,
    )
    assert created.status_code == 201
    sub = created.json()
    assert len(sub["secret"]) >= 32, "a secret is generated when left out"
    listed = client.get("/api/webhooks", headers=AUTH).json()
    assert [(w["id"], w["format"], w["filters"]) for w in listed] == [
        (sub["id"], "slack", {"min_severity": "warning", "scopes": ["entity:TSLA"]})
    ]
    assert "secret" not in listed[0]
    mine = client.post(
        "/api/webhooks",
        json={"url": "http://93.184.215.14:9/h", "secret": "s" * 20, "active": False},
        headers=AUTH,
    ).json()
    assert mine["secret"] == "s" * 20 and mine["active"] is False
    assert client.delete(f"/api/webhooks/{sub['id']}", headers=AUTH).status_code == 204
    assert client.delete(f"/api/webhooks/{sub['id']}", headers=AUTH).status_code == 404
    assert [w["id"] for w in client.get("/api/webhooks", headers=AUTH).json()] == [mine["id"]]


def test_labels_for_an_article_and_for_free_text(client: TestClient, db_engine: Engine) -> None:
    (aid,) = insert_scored(
        db_engine, [ScoredArticle("Oil slumps on supply glut", datetime.now(UTC), topic=6)]
    )
    by_article = client.post(
        "/api/labels",
        json={"article_id": aid, "topic": 6, "sentiment": "negative", "labeled_by": "ana"},
        headers=AUTH,
    )
    assert by_article.status_code == 201
    assert by_article.json()["text"].startswith("Oil slumps on supply glut")
    free = client.post(
        "/api/labels", json={"text": "Gold shines", "topic": 10, "labeled_by": "bob"}, headers=AUTH
    )
    assert free.status_code == 201 and free.json()["article_id"] is None
    unknown = {"article_id": "nope", "sentiment": "neutral", "labeled_by": "ana"}
    assert client.post("/api/labels", json=unknown, headers=AUTH).status_code == 404
    with db_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Label)).scalar_one() == 2


def test_promote_model_demotes_the_previous_one(
    client: TestClient, db_engine: Engine, tmp_path: Path
) -> None:
    register_model(db_engine, "v1", tmp_path / "v1", status="production")
    register_model(db_engine, "v2", tmp_path / "v2")
    promoted = client.post("/api/models/v2/promote", headers=AUTH)
    assert promoted.status_code == 200 and promoted.json()["status"] == "production"
    assert promoted.json()["promoted_at"] is not None
    statuses = {m["version"]: m["status"] for m in client.get("/api/models").json()}
    assert statuses == {"v2": "production", "v1": "archived"}
    assert client.post("/api/models/v2/promote", headers=AUTH).status_code == 200, "idempotent"
    assert client.post("/api/models/v9/promote", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://example.com", "format": "xml"}, "format"),
        ({"url": "https://example.com", "secret": "short"}, "secret"),
        ({"url": "https://example.com", "surprise": 1}, "surprise"),
        ({}, "url"),
        ({"url": "https://example.com", "filters": {"min_severity": "high"}}, "min_severity"),
        ({"url": "https://example.com", "filters": {"severity": ["critical"]}}, "severity"),
        ({"url": "https://example.com", "filters": {"events": ["deleted"]}}, "events"),
        ({"url": "https://example.com", "filters": {"scopes": ["sector:tech"]}}, "scopes"),
    ],
)
def test_bad_webhook_bodies_get_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/webhooks", json=body, headers=AUTH)
    assert response.status_code == 422
    assert field in {str(part) for err in response.json()["detail"] for part in err["loc"]}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"text": "x", "topic": 20, "labeled_by": "a"}, "topic"),
        ({"text": "x", "sentiment": "bullish", "labeled_by": "a"}, "sentiment"),
        ({"text": "x", "labeled_by": "a"}, "topic, a sentiment"),
        ({"sentiment": "neutral", "labeled_by": "a"}, "article_id or a non-empty text"),
        ({"text": "x", "sentiment": "neutral"}, "labeled_by"),
    ],
)
def test_bad_label_bodies_get_422(client: TestClient, body: dict[str, Any], needle: str) -> None:
    response = client.post("/api/labels", json=body, headers=AUTH)
    assert response.status_code == 422
    assert needle in str(response.json()["detail"])


def test_bad_path_ids_get_422(client: TestClient) -> None:
    for path in ("/api/alerts/abc/ack", "/api/alerts/0/ack", "/api/webhooks/-1"):
        method = "delete" if "webhooks" in path else "post"
        response = client.request(method, path, headers=AUTH)
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"][0] == "path"
