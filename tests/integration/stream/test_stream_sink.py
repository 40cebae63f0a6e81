"""ScoreSink + aggregates on the real PostgreSQL: one transaction per batch, idempotent, exact."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from finsent.models.inference import Score
from finsent.storage.aggregates import aggregate_mismatches, rebuild_all, refresh_buckets
from finsent.storage.db import make_engine
from finsent.stream.messages import DeadLetter, InboundMessage
from finsent.stream.metrics import StreamMetrics
from finsent.stream.sink import ScoredItem, ScoreSink
from tests.support.stream_harness import make_articles

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def _items(n: int, *, version: str = "v1", prefix: str = "a", offset0: int = 0) -> list[ScoredItem]:
    records = make_articles(n, prefix=prefix, published_at=T0, spread_s=240)
    items = []
    for i, r in enumerate(records):
        sentiment = ("negative", "neutral", "positive")[i % 3]
        score = Score(
            i % 5, f"t{i % 5}", [0.05] * 20, sentiment, [0.2, 0.3, 0.5], (i % 3 - 1) * 0.5, 0.5, version
        )
        items.append(ScoredItem(InboundMessage("raw", 0, offset0 + i, r.id.encode(), r.to_bytes()), r, score))
    return items


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_batch_is_stored_with_aggregates_and_redelivery_changes_nothing(db_engine: Engine) -> None:
    sink = ScoreSink(db_engine)
    items = _items(50)
    bad = DeadLetter(InboundMessage("raw", 0, 999, b"k", b"junk"), "SchemaError", "not valid JSON")
    asyncio.run(sink.write(items, [bad]))
    snapshot = _agg_snapshot(db_engine)
    asyncio.run(sink.write(items, [bad]))  # the same batch re-delivered after a crash
    assert _count(db_engine, "SELECT count(*) FROM scores") == 50
    assert _count(db_engine, "SELECT count(*) FROM articles") == 50
    assert _count(db_engine, "SELECT count(*) FROM dead_letters") == 1
    assert _count(db_engine, "SELECT sum(n) FROM agg_topic WHERE topic = -1") == 50
    assert _agg_snapshot(db_engine) == snapshot
    with db_engine.connect() as conn:
        assert aggregate_mismatches(conn) == []
    sink.close()


def _agg_snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM agg_topic ORDER BY bucket, topic"))] + [
            tuple(r) for r in conn.execute(text("SELECT * FROM agg_entity ORDER BY bucket, entity"))
        ]


def test_second_model_version_replaces_the_count_not_adds_to_it(db_engine: Engine) -> None:
    sink = ScoreSink(db_engine)
    asyncio.run(sink.write(_items(30, version="v1"), []))
    asyncio.run(sink.write(_items(30, version="v2")[:10], []))  # a newer model re-scored 10 of them
    assert _count(db_engine, "SELECT count(*) FROM scores") == 40
    assert _count(db_engine, "SELECT sum(n) FROM agg_topic WHERE topic = -1") == 30
    assert _count(db_engine, "SELECT sum(n) FROM agg_topic WHERE topic <> -1") == 30
    with db_engine.connect() as conn:
        assert aggregate_mismatches(conn) == []
        # a deliberate corruption is detected, and the repair tool fixes it
        conn.execute(text("UPDATE agg_topic SET n = n + 1 WHERE topic = -1"))
        assert aggregate_mismatches(conn)
        rebuild_all(conn)
        assert aggregate_mismatches(conn) == []
    sink.close()


def test_concurrent_writers_of_the_same_minutes_count_every_article_once(db_engine: Engine) -> None:
    # Two workers commit overlapping buckets at the same time: without the bucket locks each
    # recount would miss the other's uncommitted rows and the last commit would win.
    batches = [_items(20, prefix=f"w{w}b{b}-") for w in range(2) for b in range(6)]
    errors: list[BaseException] = []

    def writer(mine: list[list[ScoredItem]]) -> None:
        try:
            for batch in mine:
                with db_engine.begin() as conn:
                    from finsent.storage.repository import upsert_articles, upsert_scores
                    from finsent.stream.sink import article_row, score_row

                    upsert_articles(conn, [article_row(i.record) for i in batch])
                    upsert_scores(conn, [score_row(i, datetime.now(UTC)) for i in batch])
                    refresh_buckets(conn, [i.record.published_at for i in batch])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(batches[w::2],)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _count(db_engine, "SELECT sum(n) FROM agg_topic WHERE topic = -1") == 240
    with db_engine.connect() as conn:
        assert aggregate_mismatches(conn) == []


def test_rows_postgres_refuses_are_isolated_and_dead_lettered(db_engine: Engine) -> None:
    items = _items(9)
    # language is varchar(16) in the table but unbounded in the record schema
    poisoned = items[4].record.model_copy(update={"language": "x" * 40})
    items[4] = ScoredItem(items[4].message, poisoned, items[4].score)
    sink = ScoreSink(db_engine)
    _, rejected = asyncio.run(sink.write(items, []))
    assert [d.message.offset for d in rejected] == [4]
    assert rejected[0].error_type == "StorageDataError"
    assert _count(db_engine, "SELECT count(*) FROM scores") == 8
    assert _count(db_engine, 'SELECT count(*) FROM dead_letters WHERE "offset" = 4') == 1
    sink.close()


def test_unreachable_database_holds_the_batch_and_retries(embedded_stack: object) -> None:
    # A port nobody listens on: the write must keep retrying (never raise, never drop).
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/finsent", connect_timeout_s=1)
    metrics = StreamMetrics()
    sink = ScoreSink(engine, metrics=metrics, max_backoff_s=0.2)

    async def attempt() -> None:
        task = asyncio.create_task(sink.write(_items(2), []))
        await asyncio.sleep(2.0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(attempt())
    assert metrics.db_retries._value.get() >= 2
    sink.close()
    engine.dispose()


def test_refresh_of_no_buckets_is_a_no_op(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        assert refresh_buckets(conn, []) == []
    later = T0 + timedelta(minutes=5)
    with db_engine.begin() as conn:
        assert refresh_buckets(conn, [later, later + timedelta(seconds=3)]) == [later]
    assert _count(db_engine, "SELECT count(*) FROM agg_topic") == 0
