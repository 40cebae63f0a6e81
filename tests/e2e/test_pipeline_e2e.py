"""End to end on the embedded stack: `finsent worker` processes score every article exactly once.

Workers are real subprocesses (`finsent worker`) pointed at the session's PostgreSQL and broker
through FINSENT_* variables; faults are real (SIGKILL, PostgreSQL stopped). The model is a real
version directory: a renamed copy of the shipped default when it exists, else a tiny one-step
model (same encoder cost per text, meaningless predictions). Built versions are cached across
sessions in ~/.cache/finsent/test-models (FINSENT_TEST_MODEL_CACHE) with their ONNX exports.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from finsent.core.records import ScoredArticleRecord
from finsent.core.settings import Settings
from finsent.runtime import EmbeddedStack, create_topics
from finsent.runtime.processes import free_port
from finsent.runtime.state import StackState
from finsent.storage.aggregates import aggregate_mismatches
from finsent.storage.db import make_engine, upgrade
from finsent.stream.topics import DLQ_HEADERS, Topics
from tests.support.stream_harness import (
    ArticlePublisher,
    WorkerProcess,
    build_model_version,
    count_scores,
    make_articles,
    promote_version,
    read_topic,
    stop_workers,
    wait_for_scores,
)

pytestmark = [pytest.mark.slow]

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"
WORKER_OPTIONS = ["--batch-size", "32", "--batch-window", "200ms", "--session-timeout", "6s"]
WAIT_S = 420.0  # generous: these machines are shared; a healthy run needs a fraction


@pytest.fixture(scope="session")
def model_v1() -> Path:
    manifest = SHIPPED / "finsent_model.json"
    source = SHIPPED if manifest.is_file() else None
    key = hashlib.sha256(manifest.read_bytes()).hexdigest()[:12] if source else "tiny"
    cache = Path(os.environ.get("FINSENT_TEST_MODEL_CACHE", Path.home() / ".cache/finsent/test-models"))
    return build_model_version(cache / key / "e2e-v1", "e2e-v1", source=source)


@pytest.fixture(scope="session")
def model_v2(model_v1: Path) -> Path:
    return build_model_version(model_v1.parent / "e2e-v2", "e2e-v2", source=model_v1)


@pytest.fixture
def stack_settings(settings_factory: Callable[..., Settings], db_engine: Engine, model_v1: Path) -> Settings:
    settings = settings_factory(create_topics=True, kafka={"topic_partitions": 4})
    promote_version(db_engine, model_v1, settings.model_store_dir)
    return settings


@pytest.fixture
def spawn(stack_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    workers: list[WorkerProcess] = []

    def make(name: str = "w1", options: list[str] | None = None) -> WorkerProcess:
        s = stack_settings
        assert s.database_url is not None and s.kafka_bootstrap is not None
        url = s.database_url.get_secret_value()
        worker = WorkerProcess(
            url,
            s.kafka_bootstrap,
            s.kafka.topic_prefix,
            data_dir=tmp_path / name,
            log_path=tmp_path / f"{name}.log",
            options=[*WORKER_OPTIONS, *(options or [])],
        ).start()
        workers.append(worker)
        return worker

    yield make
    stop_workers(workers)


def publish(settings: Settings, records: list[Any], *, rate: float | None = None) -> None:
    """Publish articles (or raw ``(key, value)`` tuples) to the test's raw topic."""
    assert settings.kafka_bootstrap is not None
    topic = Topics(settings.kafka.topic_prefix).raw_articles

    async def go() -> None:
        async with ArticlePublisher(settings.kafka_bootstrap or "", topic) as pub:
            await pub.publish(records, rate=rate)

    asyncio.run(go())


def publish_in_background(settings: Settings, records: list[Any], rate: float) -> threading.Thread:
    thread = threading.Thread(target=publish, args=(settings, records), kwargs={"rate": rate}, daemon=True)
    thread.start()
    return thread


def stopped_totals(worker: WorkerProcess) -> dict[str, Any]:
    """The totals a worker logged when it stopped (after SIGTERM)."""
    text_ = worker.log_path.read_text(errors="replace")
    lines = [json.loads(ln) for ln in text_.splitlines() if ln.startswith("{") and '"worker stopped"' in ln]
    assert lines, worker.log_tail()
    return lines[-1]


def assert_exactly_once(engine: Engine, ids: list[str]) -> None:
    """One score row per article, and aggregates equal to a recount from the score rows."""
    with engine.connect() as conn:
        total, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT article_id) FROM scores WHERE article_id = ANY(:ids)"),
            {"ids": ids},
        ).one()
        assert (total, distinct) == (len(ids), len(ids))
    # One snapshot: the worker may still be storing a re-delivered batch (an overwrite, not a row).
    assert aggregate_mismatches(engine) == []


def test_2000_articles_give_exactly_2000_score_rows_and_exact_aggregates(
    stack_settings: Settings, db_engine: Engine, spawn: Callable[..., WorkerProcess]
) -> None:
    articles = make_articles(2000, seed=1)
    ids = [a.id for a in articles]
    worker = spawn()
    publish(stack_settings, articles)
    n = wait_for_scores(db_engine, ids, 2000, timeout_s=WAIT_S, alive=lambda: worker.alive)
    assert n == 2000, worker.log_tail()
    assert_exactly_once(db_engine, ids)
    with db_engine.connect() as conn:
        versions = conn.execute(text("SELECT DISTINCT model_version FROM scores")).scalars().all()
        assert versions == ["e2e-v1"]
        assert conn.execute(text("SELECT sum(n) FROM agg_topic WHERE topic = -1")).scalar_one() == 2000

    topic = Topics(stack_settings.kafka.topic_prefix).scored_articles
    scored = asyncio.run(read_topic(stack_settings.kafka_bootstrap or "", topic, expect=2000))
    records = [ScoredArticleRecord.from_bytes(r.value) for r in scored]
    assert {r.article_id for r in records} == set(ids)
    assert all(r.scored_at >= r.emitted_at for r in records)
    assert worker.stop() == 0
    assert stopped_totals(worker)["scored"] >= 2000


def test_kill_9_mid_stream_then_restart_stores_each_article_once(
    stack_settings: Settings, db_engine: Engine, spawn: Callable[..., WorkerProcess]
) -> None:
    articles = make_articles(900, seed=2)
    ids = [a.id for a in articles]
    first = spawn("first")
    publish(stack_settings, articles)
    assert wait_for_scores(db_engine, ids, 200, timeout_s=WAIT_S, alive=lambda: first.alive) >= 200, (
        first.log_tail()
    )
    first.kill()  # SIGKILL: no shutdown, no final commit; stored-but-uncommitted batches come back
    at_kill = count_scores(db_engine, ids)
    assert at_kill < len(ids), "the worker finished before it was killed: publish more articles"
    second = spawn("second")
    n = wait_for_scores(db_engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: second.alive)
    assert n == len(ids), second.log_tail()
    assert_exactly_once(db_engine, ids)
    assert second.stop() == 0
    # the restarted worker received at least everything that had not been stored
    assert stopped_totals(second)["received"] >= len(ids) - at_kill


def test_two_workers_in_one_group_share_partitions_and_score_every_article_once(
    stack_settings: Settings, db_engine: Engine, spawn: Callable[..., WorkerProcess]
) -> None:
    articles = make_articles(600, seed=3)
    ids = [a.id for a in articles]
    workers = [spawn("a"), spawn("b")]
    time.sleep(8)  # let both join first, or the first one may take every partition for a while
    publish(stack_settings, articles)
    n = wait_for_scores(
        db_engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: all(w.alive for w in workers)
    )
    assert n == len(ids), "\n".join(w.log_tail(1500) for w in workers)
    assert_exactly_once(db_engine, ids)
    totals = []
    for w in workers:
        assert w.stop() == 0
        totals.append(stopped_totals(w))
    assert all(t["scored"] > 0 for t in totals), totals
    assert sum(t["received"] for t in totals) >= len(ids)


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_rest_is_scored(
    stack_settings: Settings, db_engine: Engine, spawn: Callable[..., WorkerProcess]
) -> None:
    good = make_articles(570, seed=4)
    blank_title = json.loads(good[0].to_bytes())
    blank_title["title"] = "   "
    kinds: list[bytes | None] = [
        b"not json at all",
        b'{"kind": "article", "v": 1, "id": "x"}',
        b'{"kind": "alert", "v": 1}',
        b'{"kind": "article", "v": 7}',
        b"[1, 2, 3]",
        None,  # a tombstone
        b"\xff\xfe garbage",
        json.dumps(blank_title).encode(),
    ]
    bad = [(f"bad-{i}".encode(), kinds[i % len(kinds)]) for i in range(30)]
    mixed: list[Any] = list(good)
    for i, item in enumerate(bad):
        mixed.insert(i * 20 + 7, item)  # 5%, spread through the stream
    worker = spawn()
    publish(stack_settings, mixed)
    ids = [a.id for a in good]
    n = wait_for_scores(db_engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: worker.alive)
    assert n == len(ids), worker.log_tail()
    assert_exactly_once(db_engine, ids)

    topics = Topics(stack_settings.kafka.topic_prefix)
    letters = asyncio.run(read_topic(stack_settings.kafka_bootstrap or "", topics.dead_letters, expect=30))
    assert len(letters) == 30
    originals = dict(bad)
    for letter in letters:
        headers = {k: v.decode() for k, v in letter.headers}
        assert set(headers) == set(DLQ_HEADERS)
        assert headers["error_type"] == "SchemaError"
        assert headers["error"]
        assert headers["source_topic"] == topics.raw_articles
        assert int(headers["partition"]) in range(4)
        assert int(headers["offset"]) >= 0
        assert letter.value == originals[letter.key]
    with db_engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM dead_letters WHERE stage = 'stream'")).scalar_one()
    assert kept == 30


def test_hot_reload_switches_model_between_batches_without_losing_articles(
    stack_settings: Settings, db_engine: Engine, spawn: Callable[..., WorkerProcess], model_v2: Path
) -> None:
    articles = make_articles(400, seed=5)
    ids = [a.id for a in articles]
    worker = spawn(options=["--reload-interval", "500ms"])
    publisher = publish_in_background(stack_settings, articles, rate=20.0)
    before = wait_for_scores(db_engine, ids, 100, timeout_s=WAIT_S, alive=lambda: worker.alive)
    assert before >= 100, worker.log_tail()
    promote_version(db_engine, model_v2, stack_settings.model_store_dir)
    publisher.join(120)
    n = wait_for_scores(db_engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: worker.alive)
    assert n == len(ids), worker.log_tail()
    assert_exactly_once(db_engine, ids)
    query = text(
        "SELECT model_version, min(scored_at) AS first, max(scored_at) AS last, count(*) AS n "
        "FROM scores GROUP BY model_version"
    )
    with db_engine.connect() as conn:
        spans = {r.model_version: r for r in conn.execute(query)}
    assert set(spans) == {"e2e-v1", "e2e-v2"}, spans
    assert spans["e2e-v2"].n > 50
    assert spans["e2e-v1"].last < spans["e2e-v2"].first  # after the switch, every row is the new version
    assert worker.alive  # no restart needed


def test_postgres_down_for_20_s_mid_stream_loses_nothing(
    embedded_stack: Any, model_v1: Path, tmp_path: Path
) -> None:
    # A private PostgreSQL on a fixed port (the session's one is shared); the broker is the session's.
    pg = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
        data_dir=tmp_path / "pg",
        kafka_bootstrap=embedded_stack.kafka_bootstrap,
        embedded={"pg_port": free_port()},
        kafka={"topic_prefix": f"t{uuid.uuid4().hex[:12]}", "topic_partitions": 2},
    )
    stack = EmbeddedStack(pg, pg_options=("fsync=off", "synchronous_commit=off"))
    info = stack.start()
    engine = make_engine(info.database_url, pool_size=1, connect_timeout_s=2)
    worker: WorkerProcess | None = None
    try:
        upgrade(info.database_url)
        create_topics(embedded_stack.kafka_bootstrap, Topics(pg.kafka.topic_prefix).all(), 2)
        promote_version(engine, model_v1, tmp_path / "store")
        settings = pg.model_copy(update={"database_url": SecretStr(info.database_url)})
        worker = WorkerProcess(
            info.database_url,
            embedded_stack.kafka_bootstrap,
            pg.kafka.topic_prefix,
            data_dir=tmp_path / "w",
            log_path=tmp_path / "w.log",
            options=WORKER_OPTIONS,
        ).start()
        articles = make_articles(600, seed=6)
        ids = [a.id for a in articles]
        publisher = publish_in_background(settings, articles, rate=15.0)
        running = worker
        assert wait_for_scores(engine, ids, 100, timeout_s=WAIT_S, alive=lambda: running.alive) >= 100
        engine.dispose()
        # stop and restart the server itself on the same port (EmbeddedStack.start could move it)
        record = StackState.read(stack.data_dir).services["postgres"]
        assert stack.postgres.stop(record) in {"stopped", "killed"}
        time.sleep(20)
        assert worker.alive, worker.log_tail()
        restarted = stack.postgres.start(record.port, 60.0)
        state = StackState.read(stack.data_dir)
        state.services["postgres"] = restarted
        state.write(stack.data_dir)
        publisher.join(120)
        n = wait_for_scores(engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: running.alive)
        assert n == len(ids), worker.log_tail()
        assert_exactly_once(engine, ids)
        log_text = worker.log_path.read_text(errors="replace")
        assert "PostgreSQL unavailable" in log_text
        assert "LOAD REPORT" not in log_text and "Loading weights" not in log_text  # no loader noise
    finally:
        if worker is not None:
            worker.stop(timeout_s=20)
        engine.dispose()
        stack.stop()
