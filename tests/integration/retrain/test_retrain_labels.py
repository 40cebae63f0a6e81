"""Labels in PostgreSQL: file import through the CLI, the Python API, the labeling queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from finsent.cli import app
from finsent.core.settings import Settings
from finsent.lifecycle import LabelError, UnknownArticleError, validate_label
from finsent.lifecycle.labeling import label_queue, store_label, store_labels
from finsent.storage import labels_repo, upsert_articles, upsert_scores
from finsent.storage.model_versions import SqlModelIndex

NOW = datetime.now(UTC)


def _cli() -> typer.Typer:
    return app  # the real root app: its group runs each command in the application context


def _env(settings: Settings) -> dict[str, str]:
    assert settings.database_url is not None
    return {
        "FINSENT_DATABASE_URL": settings.database_url.get_secret_value(),
        "FINSENT_DATA_DIR": str(settings.data_dir),
    }


def _article(aid: str, title: str, minutes_ago: int = 5) -> dict[str, object]:
    return {
        "id": aid,
        "title": title,
        "body": "The company said more in a statement. Details followed.",
        "published_at": NOW - timedelta(minutes=minutes_ago),
        "content_hash": aid,
    }


def test_import_file_with_bad_rows(db_engine: Engine, settings_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with db_engine.begin() as conn:
        upsert_articles(conn, [_article("a1", "Acme opens a new plant")])
    path = tmp_path / "labels.csv"
    path.write_text(
        "text,article_id,topic,sentiment,labeled_by,labeled_at\n"
        "Acme beats estimates,,Earnings,positive,ann,2025-05-01T09:00:00Z\n"  # 2 ok
        ",a1,2,neutral,bob,\n"  # 3 ok: text from the article
        "Fed holds,,Fed / Central Banks,meh,ann,\n"  # 4 unknown sentiment
        ",missing-article,2,neutral,bob,\n"  # 5 unknown article
        "Oil slides,,6,negative,,\n"  # 6 ok, default labeled_by
        "No label at all,,,,ann,\n",  # 7 nothing to learn
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(
        _cli(), ["labels", "import", str(path), "--by", "importer", "--json"], env=_env(settings_factory())
    )
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["stored"] == 3
    assert [(b["line"], b["reason"].split(" ")[0]) for b in out["bad_rows"]] == [
        (4, "unknown"),
        (5, "unknown"),
        (7, "no"),
    ]
    assert "missing-article" in out["bad_rows"][1]["reason"]
    with db_engine.connect() as conn:
        rows = labels_repo.list_labels(conn)
    assert [(r["text"][:20], r["topic"], r["sentiment"], r["labeled_by"], r["origin"]) for r in rows] == [
        ("Acme beats estimates", 5, "positive", "ann", "import"),
        ("Acme opens a new pla", 2, "neutral", "bob", "import"),
        ("Oil slides", 6, "negative", "importer", "import"),
    ]
    assert rows[0]["labeled_at"] == datetime(2025, 5, 1, 9, tzinfo=UTC)
    assert rows[1]["article_id"] == "a1"
    assert rows[1]["text"].startswith("Acme opens a new plant. The company")


def test_import_of_a_clean_file_exits_zero(db_engine: Engine, settings_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"text": "Gold rallies", "topic": 10, "labeled_by": "ann"}) + "\n")
    result = CliRunner().invoke(_cli(), ["labels", "import", str(path)], env=_env(settings_factory()))
    assert result.exit_code == 0, result.output
    assert "stored 1 labels" in result.stdout
    with db_engine.connect() as conn:
        assert labels_repo.count_labels(conn) == 1


def test_python_api_stores_validated_labels(db_engine: Engine) -> None:
    rows = [
        validate_label(
            {"text": "Bank fined by regulator", "topic": "Legal / Regulation"}, default_by="api-user"
        ),
        validate_label({"text": "Bank fined by regulator", "sentiment": "bearish", "labeled_by": "x"}),
    ]
    with db_engine.begin() as conn:
        result = store_labels(conn=conn, rows=rows)
    assert len(result.stored) == 2 and result.bad_rows == []
    with db_engine.connect() as conn:
        stored = labels_repo.list_labels(conn)
    assert [(r["topic"], r["sentiment"], r["labeled_by"], r["origin"]) for r in stored] == [
        (12, None, "api-user", "api"),
        (None, "negative", "x", "api"),
    ]


def _score(aid: str, version: str, sent: list[float], topic: int = 5) -> dict[str, object]:
    probs = [0.01] * 20
    probs[topic] = 0.81
    best = max(range(3), key=sent.__getitem__)
    return {
        "article_id": aid,
        "model_version": version,
        "topic": topic,
        "topic_label": "Earnings",
        "topic_probs": probs,
        "sentiment": ["negative", "neutral", "positive"][best],
        "sentiment_probs": sent,
        "score": sent[2] - sent[0],
        "confidence": sent[best],
        "published_at": NOW,
    }


def test_label_queue_proposes_unsure_and_disagreeing_articles(db_engine: Engine, tmp_path: Path) -> None:
    index = SqlModelIndex(db_engine)
    for version in ("v-old", "v-new"):
        index.add({"version": version, "path": str(tmp_path / version)})
        index.promote(version)
    titles = {
        "sure": "Acme wins big contract",
        "unsure": "Acme weighs options",
        "flip": "Acme shares glorped",
        "labeled": "Acme labeled already",
        "stale": "Acme old news",
    }
    with db_engine.begin() as conn:
        upsert_articles(
            conn, [_article(a, t, 400 * 24 * 60 if a == "stale" else 5) for a, t in titles.items()]
        )
        upsert_scores(
            conn,
            [
                _score("sure", "v-new", [0.02, 0.03, 0.95]),
                _score("unsure", "v-new", [0.35, 0.4, 0.25]),
                _score("flip", "v-new", [0.9, 0.05, 0.05]),
                _score("flip", "v-old", [0.05, 0.05, 0.9]),
                _score("labeled", "v-new", [0.34, 0.33, 0.33]),
                _score("stale", "v-new", [0.34, 0.33, 0.33]),
            ],
        )
    with db_engine.begin() as conn:
        labeled = validate_label({"article_id": "labeled", "sentiment": "neutral"}, default_by="a")
        store_labels(conn=conn, rows=[labeled])
    with db_engine.connect() as conn:
        queue = label_queue(conn=conn, days=14)
    assert (queue.model_version, queue.previous_version) == ("v-new", "v-old")
    proposals = [item.proposal for item in queue.items[:2]]
    # unsure: margin 0.05 -> priority 0.95; flip: total variation 0.85 between the two models.
    assert [p.article_id for p in proposals] == ["unsure", "flip"]
    assert "disagree" in proposals[1].reason and proposals[1].disagreement == pytest.approx(0.85)
    assert {item.proposal.article_id for item in queue.items} == {"flip", "unsure", "sure"}


def test_one_label_rules_for_the_cli_and_the_api(db_engine: Engine) -> None:
    # store_label (POST /api/labels) and store_labels (files, Python) reject the same labels.
    with db_engine.begin() as conn:
        upsert_articles(conn, [{**_article("blank", ""), "body": ""}, _article("a2", "Acme hires")])
    with db_engine.begin() as conn:
        stored = store_label(conn=conn, data={"article_id": "a2", "topic": 2, "labeled_by": "ann"})
        assert stored["text"].startswith("Acme hires") and stored["origin"] == "api"
        with pytest.raises(UnknownArticleError, match="nope"):
            store_label(conn=conn, data={"article_id": "nope", "topic": 2, "labeled_by": "ann"})
        with pytest.raises(LabelError, match="no text"):
            store_label(conn=conn, data={"article_id": "blank", "topic": 2, "labeled_by": "ann"})
        ids = enumerate(["nope", "blank"], start=2)
        rows = [validate_label({"article_id": a, "topic": 2}, default_by="x", line=i) for i, a in ids]
        bad = store_labels(conn=conn, rows=rows).bad_rows
    assert [(b.line, b.reason) for b in bad] == [
        (2, "unknown article_id 'nope'"),
        (3, "the article has no text to label"),
    ]
