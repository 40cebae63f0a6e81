"""Read endpoints of the HTTP API against the real embedded PostgreSQL with scored data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from finsent.models.labels import TOPIC_LABELS
from tests.support.dashboards_seed import (
    AUTH,
    MODEL_VERSION,
    ScoredArticle,
    insert_alert,
    insert_scored,
    register_model,
)


def _ids(client: TestClient, **params: Any) -> list[str]:
    body = client.get("/api/articles", params={"limit": 200, **params}).json()
    assert body["total"] == len(body["items"]), "test data fits one page"
    return [item["id"] for item in body["items"]]


def test_articles_newest_first_with_their_scores(client: TestClient, seeded: list[ScoredArticle]) -> None:
    body = client.get("/api/articles", params={"limit": 5}).json()
    assert body["total"] == len(seeded)
    newest = sorted(seeded, key=lambda a: a.published_at, reverse=True)[:5]
    assert [i["id"] for i in body["items"]] == [a.article_id() for a in newest]
    first, expected = body["items"][0], newest[0]
    assert first["title"] == expected.title
    assert first["tickers"] == expected.tickers
    assert first["score"]["model_version"] == MODEL_VERSION
    assert first["score"]["sentiment"] == expected.sentiment
    assert first["score"]["topic_label"] == TOPIC_LABELS[expected.topic]
    assert body["next_offset"] == 5


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"topic": 6}, lambda a: a.topic == 6),
        ({"sentiment": "negative"}, lambda a: a.sentiment == "negative"),
        ({"ticker": "tsla"}, lambda a: "TSLA" in a.tickers),
        ({"ticker": "$NVDA"}, lambda a: "NVDA" in a.tickers),
        ({"source": "demo-blog"}, lambda a: a.source_id == "demo-blog"),
        ({"q": "energy / oil update 1"}, lambda a: "energy / oil update 1" in a.title.lower()),
        ({"topic": 19, "sentiment": "positive"}, lambda a: a.topic == 19 and a.sentiment == "positive"),
    ],
)
def test_article_filters(
    client: TestClient, seeded: list[ScoredArticle], params: dict[str, Any], keep: Any
) -> None:
    expected = {a.article_id() for a in seeded if keep(a)}
    assert expected, "the filter selects something"
    assert set(_ids(client, **params)) == expected


def test_article_time_range_is_half_open(client: TestClient, seeded: list[ScoredArticle]) -> None:
    times = sorted(a.published_at for a in seeded)
    start, end = times[10], times[30]
    got = _ids(client, start=start.isoformat(), end=end.isoformat())
    assert set(got) == {a.article_id() for a in seeded if start <= a.published_at < end}
    naive = _ids(client, start=start.replace(tzinfo=None).isoformat(), end=end.isoformat())
    assert naive == got, "naive times are read as UTC"


def test_article_pagination_covers_everything_once(client: TestClient, seeded: list[ScoredArticle]) -> None:
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        body = client.get("/api/articles", params={"limit": 37, "offset": offset}).json()
        seen += [i["id"] for i in body["items"]]
        offset = body["next_offset"]
        pages += 1
    assert pages == -(-len(seeded) // 37)
    assert sorted(seen) == sorted(a.article_id() for a in seeded)


def test_article_sort_by_confidence(client: TestClient, seeded: list[ScoredArticle]) -> None:
    items = client.get("/api/articles", params={"sort": "-confidence", "limit": 20}).json()["items"]
    conf = [i["score"]["confidence"] for i in items]
    assert conf == sorted(conf, reverse=True)
    assert conf[0] == max(a.confidence or 0 for a in seeded)


def test_one_article_has_every_model_versions_score(client: TestClient, db_engine: Engine) -> None:
    now = datetime.now(UTC)
    old = ScoredArticle(
        "Fed holds rates", now, topic=1, sentiment="neutral", scored_at=now - timedelta(hours=1)
    )
    new = ScoredArticle("Fed holds rates", now, topic=1, sentiment="negative", model_version="v-test-2")
    (aid,) = insert_scored(db_engine, [old])
    insert_scored(db_engine, [new])
    body = client.get(f"/api/articles/{aid}").json()
    assert body["title"] == "Fed holds rates"
    assert {s["model_version"] for s in body["scores"]} == {MODEL_VERSION, "v-test-2"}
    assert body["score"]["model_version"] == "v-test-2", "the newest score is the one shown"
    assert len(body["scores"][0]["topic_probs"]) == 20
    assert client.get("/api/articles/does-not-exist").status_code == 404


def _total(series: list[dict[str, Any]], field: str = "n") -> int:
    return sum(p[field] for s in series for p in s["points"])


def test_aggregates_all_rebucket_the_minute_rows(client: TestClient, seeded: list[ScoredArticle]) -> None:
    start = min(a.published_at for a in seeded) - timedelta(minutes=1)
    params = {"scope": "all", "start": start.isoformat()}
    one = client.get("/api/aggregates", params={**params, "bucket": "1m"}).json()
    five = client.get("/api/aggregates", params={**params, "bucket": "5m"}).json()
    assert [s["label"] for s in one["series"]] == ["all topics"]
    assert _total(one["series"]) == _total(five["series"]) == len(seeded)
    negatives = sum(a.sentiment == "negative" for a in seeded)
    assert _total(five["series"], "n_negative") == negatives
    for point in five["series"][0]["points"]:
        assert point["t"].endswith(("0:00Z", "5:00Z")) or "+00:00" in point["t"]
        assert point["negative_share"] == pytest.approx(point["n_negative"] / point["n"])
    assert len(five["series"][0]["points"]) < len(one["series"][0]["points"])


def test_aggregates_per_topic_and_entity(client: TestClient, seeded: list[ScoredArticle]) -> None:
    start = (min(a.published_at for a in seeded) - timedelta(minutes=1)).isoformat()
    topics = client.get("/api/aggregates", params={"scope": "topic", "bucket": "1h", "start": start}).json()
    by_key = {s["key"]: s for s in topics["series"]}
    assert set(by_key) == {str(a.topic) for a in seeded}
    assert by_key["6"]["label"] == "Energy / Oil"
    assert _total([by_key["6"]]) == sum(a.topic == 6 for a in seeded)
    named = client.get(
        "/api/aggregates", params={"scope": "topic", "key": "energy / oil", "bucket": "1h", "start": start}
    ).json()
    assert [s["key"] for s in named["series"]] == ["6"]
    tsla = client.get("/api/aggregates", params={"scope": "entity", "key": "tsla", "start": start}).json()
    assert [s["key"] for s in tsla["series"]] == ["TSLA"]
    assert _total(tsla["series"]) == sum("TSLA" in a.tickers for a in seeded)
    busiest = client.get("/api/aggregates", params={"scope": "entity", "max_series": 2, "start": start})
    assert len(busiest.json()["series"]) == 2


def test_alerts_listing_filters_and_overlap(client: TestClient, db_engine: Engine) -> None:
    now = datetime.now(UTC)
    live = insert_alert(db_engine, rule_id="surge", scope_value="5")
    old = insert_alert(
        db_engine,
        rule_id="drop",
        status="resolved",
        scope_kind="entity",
        scope_value="AAPL",
        opened_at=now - timedelta(days=2),
        resolved_at=now - timedelta(days=1),
    )
    assert [a["id"] for a in client.get("/api/alerts").json()["items"]] == [live, old]
    assert [a["id"] for a in client.get("/api/alerts", params={"status": "resolved"}).json()["items"]] == [
        old
    ]
    entity = client.get("/api/alerts", params={"scope_kind": "entity", "scope_value": "AAPL"}).json()
    assert [a["id"] for a in entity["items"]] == [old]
    recent = client.get("/api/alerts", params={"start": (now - timedelta(hours=1)).isoformat()}).json()
    assert [a["id"] for a in recent["items"]] == [live], "resolved before the range: left out"
    assert client.get("/api/alerts", params={"limit": 1}).json()["next_offset"] == 1


def test_label_queue_ranks_uncertain_unlabelled_articles_first(
    client: TestClient, db_engine: Engine, tmp_path: Path
) -> None:
    register_model(db_engine, MODEL_VERSION, tmp_path / "m", status="production")
    now = datetime.now(UTC)
    probs = {"sure": (0.96, 0.02, 0.02), "torn": (0.36, 0.34, 0.30), "unsure": (0.6, 0.3, 0.1)}
    ids = dict(
        zip(
            probs,
            insert_scored(
                db_engine,
                [ScoredArticle(f"{name} about oil", now, sentiment_probs=p) for name, p in probs.items()],
            ),
            strict=True,
        )
    )
    queue = client.get("/api/labels/queue").json()
    assert queue["model_version"] == MODEL_VERSION and queue["candidates"] == 3
    assert [i["article_id"] for i in queue["items"]] == [ids["torn"], ids["unsure"], ids["sure"]]
    top = queue["items"][0]
    assert top["title"] == "torn about oil" and "unsure of sentiment" in top["reason"]
    assert top["priority"] > queue["items"][-1]["priority"]
    assert (
        client.get("/api/labels/queue", params={"limit": 1, "offset": 1}).json()["items"][0]["article_id"]
        == ids["unsure"]
    )
    label = {"article_id": ids["torn"], "sentiment": "negative", "labeled_by": "ana"}
    assert client.post("/api/labels", json=label, headers=AUTH).status_code == 201
    after = client.get("/api/labels/queue").json()
    assert [i["article_id"] for i in after["items"]] == [ids["unsure"], ids["sure"]]


def test_label_queue_is_empty_without_a_production_model(client: TestClient, db_engine: Engine) -> None:
    insert_scored(db_engine, [ScoredArticle("Gold steady", datetime.now(UTC))])
    assert client.get("/api/labels/queue").json()["items"] == []


def test_models_listing_production_first(client: TestClient, seeded: list[ScoredArticle]) -> None:
    models = client.get("/api/models").json()
    assert [(m["version"], m["status"]) for m in models] == [(MODEL_VERSION, "production")]
    assert models[0]["metrics"] == {"sentiment_f1": 0.8}
    assert client.get("/api/models", params={"status": "candidate"}).json() == []


def test_healthz_reports_each_dependency(client: TestClient, seeded: list[ScoredArticle]) -> None:
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert body["checks"]["model"]["info"]["production_version"] == MODEL_VERSION


def test_healthz_degraded_without_a_production_model(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and not checks["model"]["ok"]
    assert "no production model" in checks["model"]["detail"]


def test_metrics_count_requests_and_read_pipeline_figures(
    client: TestClient, seeded: list[ScoredArticle]
) -> None:
    client.get("/api/articles")
    client.get("/api/articles/nope")
    text = client.get("/metrics").text
    assert 'finsent_api_requests_total{method="GET",route="/api/articles",status="200"} 1.0' in text
    assert 'route="/api/articles/{article_id}",status="404"' in text
    assert f"finsent_articles {float(len(seeded))}" in text
    assert "finsent_api_database_up 1.0" in text


def test_live_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" not in page.text  # charts are drawn by the script
    for src in ("/static/vendor/uplot/uPlot.iife.min.js", "/static/app.js", "/static/style.css"):
        assert src in page.text
        assert client.get(src).status_code == 200
    assert client.get("/docs").status_code == 200
