"""Reconciliation on the real PostgreSQL and broker: emitted-but-unscored articles go out again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from finsent.core.sections import IngestSettings
from finsent.ingest.publish import OutboxPublisher
from finsent.ingest.reconcile import build_reconciler
from finsent.storage.reconcile_repo import ReconcileRepository
from finsent.storage.repository import upsert_articles
from finsent.stream.sink import article_row
from tests.support.stream_harness import make_articles, read_topic

_SCORE = text(
    "INSERT INTO scores (article_id, model_version, topic, topic_label, topic_probs, sentiment, "
    "sentiment_probs, score, confidence, published_at) VALUES (:id, 'v1', 0, 'markets', "
    "ARRAY[1.0], 'neutral', ARRAY[0.0, 1.0, 0.0], 0.0, 1.0, now())"
)
_LETTER = text(
    "INSERT INTO dead_letters (stage, source, key, error_type, error) "
    "VALUES ('stream', 'raw', :id, 'ModelError', 'model failed on it')"
)


def _emitted_articles(engine: Engine, bootstrap: str, topic: str, n: int) -> list[str]:
    records = make_articles(n, seed=11, prefix="r")
    with engine.begin() as conn:
        upsert_articles(conn, [article_row(r) | {"emitted_at": None} for r in records])
    publisher = OutboxPublisher(engine, bootstrap, topic)
    try:
        assert publisher.publish_pending().published == n
    finally:
        publisher.close()
    return [r.id for r in records]


def test_a_pass_requeues_only_unscored_not_dead_lettered_articles_past_the_grace_and_is_bounded(
    db_engine: Engine, topic_factory: Callable[..., str], embedded_stack: Any
) -> None:
    bootstrap = embedded_stack.kafka_bootstrap
    topic = topic_factory()
    ids = _emitted_articles(db_engine, bootstrap, topic, 10)
    scored, lettered, recent, lost = ids[:3], ids[3:5], ids[5], ids[6:]
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE articles SET emitted_at = now() - interval '1 hour' WHERE id <> :r"), {"r": recent}
        )
        for article in scored:
            conn.execute(_SCORE, {"id": article})
        for article in lettered:
            conn.execute(_LETTER, {"id": article})
    publisher = OutboxPublisher(db_engine, bootstrap, topic)
    settings = IngestSettings(reconcile_grace=timedelta(minutes=15), reconcile_max_per_pass=3)
    reconciler = build_reconciler(db_engine, settings, publisher=publisher)
    try:
        first = reconciler.run_pass()
        assert (first.found, first.reemitted, first.published, first.capped) == (4, 3, 3, True)
        assert reconciler.metrics.backlog._value.get() == 1
        second = reconciler.run_pass()
        assert (second.reemitted, second.capped) == (1, False)
        # just sent again: inside the grace period now, so nothing more until it passes
        assert reconciler.run_pass().reemitted == 0
    finally:
        publisher.close()

    records = asyncio.run(read_topic(bootstrap, topic, expect=14))
    keys = [r.key.decode() for r in records]
    assert len(keys) == 14
    assert sorted(keys[10:]) == sorted(lost)  # the originals, then exactly the lost ones again
    summary = ReconcileRepository(db_engine).summary()
    assert (summary.passes, summary.reemitted_total, summary.last_reemitted) == (3, 4, 0)
    assert reconciler.metrics.reemitted.labels(reason="schedule")._value.get() == 4


def test_broker_restart_pass_needs_no_grace(
    db_engine: Engine, topic_factory: Callable[..., str], embedded_stack: Any
) -> None:
    bootstrap = embedded_stack.kafka_bootstrap
    topic = topic_factory()
    ids = _emitted_articles(db_engine, bootstrap, topic, 5)
    publisher = OutboxPublisher(db_engine, bootstrap, topic)
    reconciler = build_reconciler(db_engine, IngestSettings(), publisher=publisher)
    try:
        assert reconciler.run_pass().reemitted == 0  # emitted seconds ago: well inside the grace
        result = reconciler.run_pass(reason="broker_restart", emitted_before=datetime.now(UTC))
    finally:
        publisher.close()
    assert (result.reemitted, result.published) == (5, 5)
    assert ReconcileRepository(db_engine).unscored_count(
        cutoff=datetime.now(UTC), since=datetime.now(UTC) - timedelta(days=1)
    ) == len(ids)
