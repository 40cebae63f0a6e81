"""``GET /api/entities/{ticker}`` against the real embedded PostgreSQL.

Articles go in through storage's writers with the aggregates recounted in the same transaction,
as the stream worker writes them; each names the entity with its own relevance.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from finsent.storage.aggregates import refresh_buckets
from finsent.storage.entity_scores_repo import replace_entity_scores
from finsent.storage.repository import upsert_articles, upsert_scores
from tests.support.dashboards_seed import ScoredArticle

NAMES = {"ACMR": "Acme Robotics"}


def _insert(
    engine: Engine,
    items: list[tuple[ScoredArticle, dict[str, float]]],
    entity_rows: Sequence[dict[str, object]] = (),
) -> list[str]:
    """Articles whose ``entities`` carry the given relevance per ticker (and entity-score rows)."""
    articles, scores = [], []
    for item, relevance in items:
        article, score = item.rows()
        article["entities"] = [
            {"ticker": t, "name": NAMES.get(t), "relevance": r} for t, r in relevance.items()
        ]
        article["tickers"] = list(relevance)
        articles.append(article)
        scores.append(score)
    with engine.begin() as conn:
        upsert_articles(conn, articles)
        upsert_scores(conn, scores)
        pairs = [(str(r["article_id"]), str(r["model_version"])) for r in entity_rows]
        replace_entity_scores(conn, pairs, list(entity_rows), copy=False)
        refresh_buckets(conn, [a["published_at"] for a in articles])
    return [a["id"] for a in articles]


@pytest.fixture
def two_stories(db_engine: Engine) -> tuple[datetime, list[str]]:
    """ACMR as the subject of a negative story and as a passing mention in a positive one."""
    now = datetime.now(UTC).replace(microsecond=0)
    subject = ScoredArticle("Acme Robotics cuts forecast", now - timedelta(minutes=20), sentiment="negative")
    passing = ScoredArticle("Chipmaker up; Acme cited", now - timedelta(minutes=10), sentiment="positive")
    old = ScoredArticle("Acme last year", now - timedelta(days=3), sentiment="positive")
    ids = _insert(
        db_engine,
        [(subject, {"ACMR": 0.9}), (passing, {"CHPX": 1.0, "ACMR": 0.2}), (old, {"ACMR": 1.0})],
    )
    return now, ids


def test_entity_view_weights_by_relevance_and_lists_latest_articles(
    client: TestClient, two_stories: tuple[datetime, list[str]]
) -> None:
    now, (subject_id, passing_id, _old) = two_stories
    start = (now - timedelta(hours=1)).isoformat()
    body = client.get("/api/entities/acmr", params={"start": start, "bucket": "1m"})
    assert body.status_code == 200, body.text
    data = body.json()
    assert data["ticker"] == "ACMR" and data["bucket"] == "1m"
    summary = data["summary"]
    assert (summary["n"], summary["n_negative"], summary["n_positive"]) == (2, 1, 1)
    # Seeded probs: negative story -0.75, positive +0.75; weights 0.9 and 0.2.
    expected = (0.9 * -0.75 + 0.2 * 0.75) / 1.1
    assert summary["weighted_score"] == pytest.approx(expected, abs=1e-6)
    assert summary["relevance_sum"] == pytest.approx(1.1)
    assert summary["negative_share"] == pytest.approx(0.5)
    assert [p["n"] for p in data["points"]] == [1, 1]
    lo, hi = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
    assert all(lo <= datetime.fromisoformat(p["t"]) < hi for p in data["points"])

    [first, second] = data["articles"]  # the 3-day-old story is outside the range
    assert (first["id"], second["id"]) == (passing_id, subject_id)
    assert (first["relevance"], second["relevance"]) == (20, 90)
    assert second["entity"]["sentiment"] == "negative" and second["entity"]["score"] < -0.5
    assert second["entity"]["source"] in ("entity", "document")
    assert second["document"]["sentiment"] == "negative"
    assert sorted(first["tickers"]) == ["ACMR", "CHPX"]


def test_entity_article_limit_and_range_end(
    client: TestClient, two_stories: tuple[datetime, list[str]]
) -> None:
    now, (subject_id, _passing, _old) = two_stories
    start, end = now - timedelta(hours=1), now - timedelta(minutes=15)
    params = {"start": start.isoformat(), "end": end.isoformat()}
    data = client.get("/api/entities/ACMR", params=params).json()
    assert [a["id"] for a in data["articles"]] == [subject_id]
    assert data["summary"]["n"] == 1
    limited = client.get("/api/entities/ACMR", params={"start": params["start"], "limit": 1}).json()
    assert len(limited["articles"]) == 1


def test_unknown_ticker_404_known_but_quiet_ticker_empty(
    client: TestClient, db_engine: Engine, two_stories: tuple[datetime, list[str]]
) -> None:
    missing = client.get("/api/entities/ZZQX")
    assert missing.status_code == 404 and "ZZQX" in missing.json()["detail"]
    now, _ids = two_stories
    # ACMR is known (stored articles name it) but quiet in a range without its articles.
    quiet = client.get("/api/entities/$acmr", params={"start": (now - timedelta(minutes=5)).isoformat()})
    assert quiet.status_code == 200
    data = quiet.json()
    assert data["name"] == "Acme Robotics" and data["points"] == [] and data["articles"] == []
    assert data["summary"]["n"] == 0 and data["summary"]["weighted_score"] is None


def test_entity_own_score_differs_from_the_article_score(client: TestClient, db_engine: Engine) -> None:
    """One headline, two companies with opposite news: each gets its own score in the view."""
    now = datetime.now(UTC).replace(microsecond=0)
    item = ScoredArticle("Chipmaker A jumps as rival B cuts forecast", now - timedelta(minutes=3))
    aid = item.article_id()

    def row(entity: str, sentiment: str, score: float) -> dict[str, object]:
        probs = {"negative": [0.9, 0.05, 0.05], "positive": [0.05, 0.05, 0.9]}[sentiment]
        return {
            "article_id": aid,
            "entity": entity,
            "model_version": item.model_version,
            "source": "entity",
            "relevance": 0.8,
            "in_title": True,
            "mentions": 1,
            "sentiment": sentiment,
            "sentiment_probs": probs,
            "score": score,
            "confidence": 0.9,
            "published_at": item.published_at,
        }

    _insert(
        db_engine,
        [(item, {"CHPA": 0.8, "CHPB": 0.8})],
        [row("CHPA", "positive", 0.85), row("CHPB", "negative", -0.85)],
    )
    start = (now - timedelta(hours=1)).isoformat()
    a = client.get("/api/entities/CHPA", params={"start": start}).json()
    b = client.get("/api/entities/CHPB", params={"start": start}).json()
    [art_a], [art_b] = a["articles"], b["articles"]
    assert art_a["entity"] == {**art_a["entity"], "source": "entity", "sentiment": "positive", "score": 0.85}
    assert art_b["entity"]["source"] == "entity" and art_b["entity"]["score"] == pytest.approx(-0.85)
    assert art_a["document"]["sentiment"] == art_b["document"]["sentiment"] == "neutral"
    assert (art_a["relevance"], art_b["relevance"]) == (80, 80)
    assert a["summary"]["weighted_score"] > 0.5 > -0.5 > b["summary"]["weighted_score"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/entities/bad%20ticker", {}),
        ("/api/entities/" + "A" * 40, {}),
        ("/api/entities/ACMR", {"bucket": "7m"}),
        ("/api/entities/ACMR", {"limit": 0}),
        ("/api/entities/ACMR", {"start": "2024-01-01T00:00:00Z", "bucket": "1m"}),
    ],
)
def test_bad_entity_requests_are_422(
    client: TestClient, two_stories: tuple[datetime, list[str]], path: str, params: dict[str, object]
) -> None:
    assert client.get(path, params=params).status_code == 422
