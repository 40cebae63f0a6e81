"""Faults on the real embedded stack driven through the CLI (`finsent up/down/replay/crawl/worker`).

One private data dir for the module (its own PostgreSQL and broker, started by `finsent up`):
* the broker restarted with memory lost after a replay nobody consumed: `finsent up` sends every
  emitted-but-unscored article again, and a worker started afterwards, whose group offsets point
  far past the partitions' end, scores each exactly once;
* PostgreSQL SIGKILLed under load: `finsent up` brings it back on its port, the running crawler and
  worker resume by themselves and the demo feed has no gap; a second crawler and worker that get
  SIGTERM while PostgreSQL is down still exit within their stop timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import Engine, text

from finsent.ingest.demo import DemoFeed, write_corpus
from finsent.runtime.processes import pid_alive
from finsent.runtime.state import StackState
from finsent.storage.aggregates import aggregate_mismatches
from finsent.storage.db import make_engine

pytestmark = [pytest.mark.slow]

WAIT_S = 300.0
WORKER = ["worker", "--batch-size", "32", "--batch-window", "200ms", "--session-timeout", "6s"]


@dataclasses.dataclass
class CliStack:
    """A private data dir run by `finsent up`."""

    data_dir: Path
    env: dict[str, str]
    procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = dataclasses.field(default_factory=list)

    def run(self, *args: str, timeout_s: float = 180.0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "finsent", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=self.data_dir,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.data_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "finsent", *args],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        self.procs.append((proc, log))
        return proc

    def log(self, name: str) -> str:
        return (self.data_dir / f"{name}.log").read_text(errors="replace")[-4000:]

    def record(self, name: str) -> Any:
        return StackState.read(self.data_dir).services[name]

    def engine(self) -> Engine:
        return make_engine(self.record("postgres").url, pool_size=1, connect_timeout_s=2)

    def reap(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
            log.close()
        self.procs.clear()


@pytest.fixture(scope="module")
def cli_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliStack]:
    data_dir = tmp_path_factory.mktemp("faults")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSENT_")}
    env |= {
        "FINSENT_DATA_DIR": str(data_dir),
        "FINSENT_KAFKA__TOPIC_PARTITIONS": "2",
        "FINSENT_STREAM__METRICS_PORT": "0",
        "FINSENT_INGEST__METRICS_PORT": "0",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    stack = CliStack(data_dir, env)
    stack.run("up")
    try:
        yield stack
    finally:
        stack.reap()
        subprocess.run([sys.executable, "-m", "finsent", "down"], env=env, timeout=120, check=False)


@pytest.fixture
def stack(cli_stack: CliStack) -> Iterator[CliStack]:
    with cli_stack.engine().begin() as conn:
        conn.execute(text("TRUNCATE articles, scores, agg_topic, agg_entity, dead_letters CASCADE"))
    yield cli_stack
    cli_stack.reap()


def _scores(engine: Engine, where: str = "true") -> tuple[int, int, int]:
    query = (
        f"SELECT (SELECT count(*) FROM articles a WHERE {where}), count(*), count(DISTINCT s.article_id) "
        f"FROM scores s JOIN articles a ON a.id = s.article_id WHERE {where}"
    )
    with engine.connect() as conn:
        articles, rows, distinct = conn.execute(text(query)).one()
    return int(articles), int(rows), int(distinct)


def _wait(predicate: Any, timeout_s: float = WAIT_S, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # PostgreSQL restarting: ask again
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _corpus(path: Path, n: int) -> Path:
    items = DemoFeed(seed=3).generate(n, datetime.now(UTC) - timedelta(minutes=30))
    unique = [
        dataclasses.replace(it, title=f"{it.title} ({i})", url=f"{it.url}-{i}") for i, it in enumerate(items)
    ]
    write_corpus(path, unique)
    return path


def _commit_far_ahead(bootstrap: str, topic: str, group: str, offset: int) -> None:
    """Commit ``offset`` for ``group`` on every partition of ``topic`` (as after a topic recreation)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.errors import KafkaError

    async def go() -> None:
        deadline = time.monotonic() + 60
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
            await consumer.start()
            try:
                partitions = consumer.partitions_for_topic(topic) or set()
                if not partitions:
                    await consumer.topics()
                    partitions = consumer.partitions_for_topic(topic) or set()
                tps = [TopicPartition(topic, p) for p in sorted(partitions)]
                consumer.assign(tps)
                await consumer.commit({tp: offset for tp in tps})
                return
            except KafkaError:  # the killed worker's membership has not expired yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    asyncio.run(go())


def test_broker_restart_after_an_unconsumed_replay_scores_all_600_exactly_once(stack: CliStack) -> None:
    corpus = _corpus(stack.data_dir / "corpus.jsonl", 600)
    stack.run("replay", str(corpus), "--source-id", "replay-e2e")
    engine = stack.engine()
    where = "a.source_id = 'replay-e2e'"
    assert _scores(engine, where)[0] == 600
    broker = stack.record("kafka")
    os.kill(broker.pid, signal.SIGTERM)  # the broker goes away and its memory with it
    _wait(lambda: not pid_alive(broker.pid, broker.create_time), 30, "the broker to exit")

    out = stack.run("up")
    assert "reconciled: 600 emitted article(s) without a score sent again (600 published)" in out, out
    assert stack.record("kafka").port == broker.port  # same address for every client
    # Committed offsets far past the partitions' end (as after a topic recreation in production):
    # the worker must read the partitions from their start, neither stall nor skip.
    _commit_far_ahead(broker.url, "finsent.articles.raw", "finsent-scoring", 1_000_000)
    # Headlines only: this test is about delivery, and the demo bodies' sentences would cost
    # ten times the inference (whole-article scoring under faults: the pipeline e2e tests).
    worker = stack.spawn("worker-a", *WORKER, env={"FINSENT_STREAM__WHOLE_ARTICLE": "false"})
    _wait(lambda: _scores(engine, where)[2] == 600 or worker.poll() is not None, what="600 scores")
    assert _scores(engine, where) == (600, 600, 600), stack.log("worker-a")
    assert aggregate_mismatches(engine) == []  # one snapshot while the worker writes
    worker_log = (stack.data_dir / "worker-a.log").read_text(errors="replace")
    assert "committed offset past the partition's end" in worker_log
    assert "reconcile" in stack.run("status")
    engine.dispose()


def _demo_gap(engine: Engine, rate_per_min: float, seed: int) -> tuple[int, int]:
    """(items the demo feed published between the first and last stored one, how many are missing)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT url, published_at FROM articles WHERE source_id = 'demo'")).all()
    stored = {r.url for r in rows}
    first, last = min(r.published_at for r in rows), max(r.published_at for r in rows)
    expected = DemoFeed(seed=seed, rate_per_min=rate_per_min).items_between(first, last)
    return len(expected), sum(1 for item in expected if item.url not in stored)


def test_postgres_sigkilled_under_load_then_up_crawler_and_worker_resume_with_no_gap(stack: CliStack) -> None:
    crawler = stack.spawn("crawl-b", "crawl", "--demo", "--demo-rate", "240", "--seed", "5")
    worker = stack.spawn("worker-b", *WORKER)
    # A second crawler and worker get SIGTERM while PostgreSQL is down: they must still stop in time.
    doomed = [
        (stack.spawn("crawl-term", "crawl", "--demo", "--demo-rate", "240", "--seed", "5"), "crawl-term"),
        (stack.spawn("worker-term", *WORKER), "worker-term"),
    ]
    engine = stack.engine()
    _wait(lambda: _scores(engine, "a.source_id = 'demo'")[2] >= 20, what="first demo scores")
    pg = stack.record("postgres")
    os.kill(pg.pid, signal.SIGKILL)
    time.sleep(8)  # demo polls fail to store meanwhile; the workers hold their batches, retrying
    started = time.monotonic()
    for proc, _ in doomed:
        proc.send_signal(signal.SIGTERM)
    for proc, name in doomed:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} ignored SIGTERM with PostgreSQL down:\n{stack.log(name)}")
    assert time.monotonic() - started < 30
    assert crawler.poll() is None and worker.poll() is None
    stack.run("up")
    assert stack.record("postgres").port == pg.port
    engine.dispose()
    engine = stack.engine()
    before = _scores(engine, "a.source_id = 'demo'")[0]
    _wait(lambda: _scores(engine, "a.source_id = 'demo'")[0] >= before + 10, what="new demo articles")
    crawler.send_signal(signal.SIGTERM)
    assert crawler.wait(60) == 0, stack.log("crawl-b")
    _wait(lambda: len(set(_scores(engine, "a.source_id = 'demo'"))) == 1, what="every demo article scored")
    assert worker.poll() is None, stack.log("worker-b")  # resumed by itself, never restarted
    articles, rows, distinct = _scores(engine, "a.source_id = 'demo'")
    assert articles == rows == distinct
    expected, missing = _demo_gap(engine, 240, 5)
    assert expected >= articles - 1 and missing == 0, (expected, missing, articles)
    assert aggregate_mismatches(engine) == []  # one snapshot while the worker writes
    engine.dispose()
