"""Bulk idempotent writes against the real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

import finsent.storage.repository as repository
from finsent.storage.exceptions import StorageDataError, StorageUnavailableError
from finsent.storage.repository import bulk_upsert, insert_dead_letter, upsert_articles, upsert_scores
from finsent.storage.schema import Article, DeadLetter, Score, Source

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _article(article_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "id": article_id,
        "source_id": "demo",
        "url": f"https://ex.com/{article_id}",
        "title": f"title {article_id}",
        "body": "body",
        "published_at": NOW,
        "content_hash": f"hash-{article_id}",
        "tickers": ["ACME"],
    }
    return row | overrides


def _score(article_id: str, score: float = 0.5, version: str = "v1") -> dict[str, Any]:
    return {
        "article_id": article_id,
        "model_version": version,
        "topic": 3,
        "topic_label": "Earnings",
        "topic_probs": [0.05] * 20,
        "sentiment": "positive",
        "sentiment_probs": [0.1, 0.3, 0.6],
        "score": score,
        "confidence": 0.6,
        "published_at": NOW,
    }


def _count(engine: Engine, model: type[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_upserting_the_same_score_twice_leaves_one_row_with_the_latest_values(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        upsert_articles(conn, [_article("a1")])
        upsert_scores(conn, [_score("a1", 0.1)])
    with db_engine.begin() as conn:
        upsert_scores(conn, [_score("a1", 0.7)])

    with db_engine.connect() as conn:
        rows = conn.execute(select(Score.score)).all()
    assert rows == [(0.7,)]


def test_scores_of_two_model_versions_are_two_rows(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        upsert_articles(conn, [_article("a1")])
        upsert_scores(conn, [_score("a1", version="v1"), _score("a1", version="v2")])
    assert _count(db_engine, Score) == 2


def test_concurrent_upserts_from_two_connections_leave_one_row(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        upsert_articles(conn, [_article(f"a{i}") for i in range(20)])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(score: float) -> None:
        try:
            for i in range(20):
                barrier.wait(timeout=10)
                with db_engine.begin() as conn:
                    upsert_scores(conn, [_score(f"a{i}", score)])
        except BaseException as exc:  # surfaced below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (0.25, 0.75)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    with db_engine.connect() as conn:
        rows = conn.execute(select(Score.article_id, Score.score)).all()
    assert len(rows) == 20
    assert {score for _, score in rows} <= {0.25, 0.75}


def test_duplicate_keys_in_one_batch_collapse_to_the_last(db_engine: Engine) -> None:
    rows = [{"id": "s1", "kind": "rss", "name": "first"}, {"id": "s1", "kind": "rss", "name": "last"}]
    with db_engine.begin() as conn:
        bulk_upsert(conn, Source, rows, ["id"])
    with db_engine.connect() as conn:
        assert conn.execute(select(Source.name)).all() == [("last",)]


def test_large_inputs_are_split_into_batches_below_the_parameter_limit(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repository, "MAX_PARAMS", 30)  # 3 columns -> 10 rows per statement
    statements: list[str] = []

    from sqlalchemy import event

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO sources"):
            statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        with db_engine.begin() as conn:
            bulk_upsert(
                conn, Source, [{"id": f"s{i}", "kind": "rss", "name": "n"} for i in range(95)], ["id"]
            )
    finally:
        event.remove(db_engine, "before_cursor_execute", count)

    assert len(statements) == 10
    assert _count(db_engine, Source) == 95


def test_upsert_articles_returns_only_new_ids_and_keeps_existing_rows(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        assert upsert_articles(conn, [_article("a1"), _article("a2")]) == ["a1", "a2"]
        conn.execute(text("UPDATE articles SET emitted_at = now() WHERE id = 'a1'"))
    with db_engine.begin() as conn:
        new = upsert_articles(conn, [_article("a1", title="changed"), _article("a3")])

    assert new == ["a3"]
    with db_engine.connect() as conn:
        title, emitted = conn.execute(
            select(Article.title, Article.emitted_at).where(Article.id == "a1")
        ).one()
    assert title == "title a1"
    assert emitted is not None


def test_upsert_articles_update_refreshes_content_but_not_the_outbox_mark(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        upsert_articles(conn, [_article("a1")])
        conn.execute(text("UPDATE articles SET emitted_at = now() WHERE id = 'a1'"))
    with db_engine.begin() as conn:
        assert upsert_articles(conn, [_article("a1", title="changed", emitted_at=None)], update=True) == [
            "a1"
        ]

    with db_engine.connect() as conn:
        title, emitted = conn.execute(select(Article.title, Article.emitted_at)).one()
    assert (title, emitted is not None) == ("changed", True)


def test_empty_update_columns_mean_do_nothing(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        bulk_upsert(conn, Source, [{"id": "s1", "kind": "rss", "name": "first"}], ["id"])
        bulk_upsert(conn, Source, [{"id": "s1", "kind": "rss", "name": "second"}], ["id"], update_cols=[])
    with db_engine.connect() as conn:
        assert conn.execute(select(Source.name)).scalar_one() == "first"


def test_score_for_a_missing_article_is_a_data_error(db_engine: Engine) -> None:
    with pytest.raises(StorageDataError, match="scores"), db_engine.begin() as conn:
        upsert_scores(conn, [_score("missing")])


def test_dead_letter_keeps_the_original_bytes_and_the_reason(db_engine: Engine) -> None:
    payload = b"\xff\xfe not json"
    with db_engine.begin() as conn:
        new_id = insert_dead_letter(
            conn,
            stage="stream",
            error_type="SchemaError",
            error="x" * 20_000,
            source="finsent.articles.raw",
            partition=2,
            offset=41,
            key=b"k\xff",
            payload=payload,
        )
    with db_engine.connect() as conn:
        row = conn.execute(select(DeadLetter).where(DeadLetter.id == new_id)).mappings().one()
    assert row["payload"] == payload
    assert (row["partition"], row["offset"], row["error_type"]) == (2, 41, "SchemaError")
    assert len(row["error"]) == 10_000
    assert row["key"].startswith("k")


def test_unreachable_database_is_a_retryable_error() -> None:
    from finsent.core.errors import RetryableError
    from finsent.runtime.processes import free_port
    from finsent.storage.db import make_engine, transaction

    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x", connect_timeout_s=2)
    try:
        with pytest.raises(StorageUnavailableError) as info, transaction(engine) as conn:
            upsert_scores(conn, [_score("a1")])
    finally:
        engine.dispose()
    assert isinstance(info.value, RetryableError)
