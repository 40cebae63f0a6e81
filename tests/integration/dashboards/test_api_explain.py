"""``GET /api/articles/{id}/explain`` on the real stack with the real shipped model: the stored
sentences are the units, and the negative body sentence under a neutral headline is named."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from finsent.core.settings import Settings
from finsent.dashboards.api import create_app
from finsent.storage.sentence_scores_repo import replace_sentence_scores
from tests.support.dashboards_seed import API_TOKEN, MODEL_VERSION, ScoredArticle, insert_scored

TITLE = "Acme Corp reports quarterly results"
SENTENCES = [
    "Acme Corp published its results on Tuesday.",
    "Revenue fell 30% and the company warned of heavy losses and layoffs.",
    "The annual meeting is scheduled for next month.",
]
BODY = "  ".join(SENTENCES)  # two spaces: the stored offsets, not a re-split, place the sentences


@pytest.fixture
def fp32_client(db_engine: Engine, settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    settings = settings_factory(api={"token": API_TOKEN}, models={"device": "cpu", "cpu_backend": "fp32"})
    with TestClient(create_app(settings, db_engine)) as client:
        yield client


def _seed(engine: Engine) -> str:
    article = ScoredArticle(TITLE, datetime.now(UTC) - timedelta(minutes=5), body=BODY, sentiment="negative")
    (aid,) = insert_scored(engine, [article])
    rows, start = [], 0
    for idx, sentence in enumerate(SENTENCES):
        start = BODY.index(sentence, start)
        rows.append(
            {
                "article_id": aid,
                "model_version": MODEL_VERSION,
                "idx": idx,
                "char_start": start,
                "char_end": start + len(sentence),
                "text": sentence,
                "sentiment": "neutral",
                "sentiment_probs": [0.1, 0.8, 0.1],
                "score": 0.0,
                "confidence": 0.8,
            }
        )
    with engine.begin() as conn:
        replace_sentence_scores(conn, [(aid, MODEL_VERSION)], rows)
    return aid


def test_explain_names_the_negative_sentence(fp32_client: TestClient, db_engine: Engine) -> None:
    aid = _seed(db_engine)
    resp = fp32_client.get(f"/api/articles/{aid}/explain")
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["article_id"] == aid and data["method"] == "occlusion" and data["backend"] == "fp32"
    assert data["sentiment"] == "negative" and data["score"] < 0
    fields = [(s["field"], s["text"]) for s in data["sentences"]]
    assert fields == [("title", TITLE), *(("body", t) for t in SENTENCES)]
    for s in data["sentences"][1:]:
        assert BODY[s["start"] : s["end"]] == s["text"]  # the stored offsets
    strongest = min(data["sentences"], key=lambda s: s["effect"])
    assert "losses" in strongest["text"] and strongest["top"] and strongest["sentiment"] == "negative"
    words = [w for w in data["words"] if w["sentence"] == strongest["idx"]]
    assert words and all(BODY[w["start"] : w["end"]] == w["text"] for w in words)
    assert all(-1.0 <= w["weight"] <= 1.0 for w in data["words"])


def test_explain_of_an_unknown_article_is_404(fp32_client: TestClient) -> None:
    assert fp32_client.get("/api/articles/nope/explain").status_code == 404
