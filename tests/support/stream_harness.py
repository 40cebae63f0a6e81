"""Drive real scoring workers from outside: spawn ``finsent worker`` processes, publish articles,
watch the score rows. Used by the end-to-end and stream tests, and by ``finsent bench pipeline``
(``benchmarks/pipeline.py``): test support owns it because tests use all of it and the benchmark
only runs from a source checkout, where ``tests/`` is present too.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, bindparam, text

from finsent.core.records import ArticleRecord, EntityMention

__all__ = [
    "ArticlePublisher",
    "WorkerProcess",
    "build_model_version",
    "count_scores",
    "make_articles",
    "promote_version",
    "read_topic",
    "stop_workers",
    "wait_for_scores",
]

_COMPANIES = [
    ("AAPL", "Apple"),
    ("MSFT", "Microsoft"),
    ("NVDA", "Nvidia"),
    ("AMZN", "Amazon"),
    ("TSLA", "Tesla"),
    ("JPM", "JPMorgan"),
    ("XOM", "Exxon"),
    ("PFE", "Pfizer"),
    ("BA", "Boeing"),
    ("KO", "Coca-Cola"),
]
_EVENTS = [
    "beats earnings estimates and raises its full-year guidance",
    "misses revenue forecasts as demand weakens",
    "announces a $5 billion share buyback",
    "faces a regulatory probe over accounting practices",
    "cuts 3,000 jobs in a restructuring plan",
    "agrees to acquire a smaller rival in an all-cash deal",
    "holds its dividend steady as margins stabilise",
    "warns of supply-chain disruptions in the second half",
]
_VERBS = ["shares jump as", "stock slides as", "trades flat after", "rallies after"]


def make_articles(
    n: int,
    *,
    seed: int = 0,
    prefix: str = "a",
    titles: Sequence[str] | None = None,
    published_at: datetime | None = None,
    spread_s: float = 600.0,
) -> list[ArticleRecord]:
    """``n`` valid, distinct articles (deterministic for a seed).

    Args:
        n: how many.
        seed: random seed.
        prefix: article id prefix (ids are ``{prefix}{i:07d}``).
        titles: headlines to cycle through (default: generated finance headlines).
        published_at: earliest publication time (default: now minus ``spread_s``).
        spread_s: publication times are spread over this many seconds (so several minute buckets).
    """
    rng = random.Random(seed)
    start = published_at or datetime.now(UTC) - timedelta(seconds=spread_s)
    out = []
    for i in range(n):
        ticker, name = _COMPANIES[rng.randrange(len(_COMPANIES))]
        generated = f"{name} {rng.choice(_VERBS)} it {rng.choice(_EVENTS)}"
        title = titles[i % len(titles)] if titles else generated
        body = f"{name} ({ticker}) said on Tuesday that it {rng.choice(_EVENTS)}. Analysts were divided."
        fetched = start + timedelta(seconds=rng.uniform(0, spread_s))
        out.append(
            ArticleRecord(
                id=f"{prefix}{i:07d}",
                source_id="bench",
                url=f"https://example.com/{prefix}/{i}",
                title=title,
                body=body,
                published_at=fetched,
                fetched_at=fetched,
                language="en",
                tickers=[ticker],
                entities=[EntityMention(ticker=ticker, name=name, relevance=round(rng.uniform(0.3, 1.0), 2))],
                content_hash=f"{prefix}{i:07d}",
                novelty=1.0,
            )
        )
    return out


class ArticlePublisher:
    """Publishes records to a topic with aiokafka (acks=all), stamping ``emitted_at`` at send time."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer: Any = None

    async def __aenter__(self) -> ArticlePublisher:
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=5, request_timeout_ms=30_000
        )
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def publish(
        self,
        records: Iterable[ArticleRecord | tuple[bytes | None, bytes | None]],
        *,
        rate: float | None = None,
        on_sent: Callable[[int], None] | None = None,
    ) -> float:
        """Publish ``records`` (``emitted_at`` set to the send time), at most ``rate`` per second.

        Raw ``(key, value)`` tuples are sent as they are. Returns the seconds it took (until the
        last acknowledgement).
        """
        started = time.perf_counter()
        pending = []
        key: bytes | None
        value: bytes | None
        for i, item in enumerate(records):
            if rate:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if isinstance(item, ArticleRecord):
                record = item.model_copy(update={"emitted_at": datetime.now(UTC)})
                key, value = record.id.encode(), record.to_bytes()
            else:
                key, value = item
            pending.append(await self._producer.send(self.topic, key=key, value=value))
            if on_sent is not None:
                on_sent(i + 1)
        await asyncio.gather(*pending)
        return time.perf_counter() - started


@dataclass
class WorkerProcess:
    """A ``finsent worker`` subprocess pointed at given services (env), logging to a file."""

    database_url: str
    kafka_bootstrap: str
    topic_prefix: str
    data_dir: Path
    log_path: Path
    options: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _terminated: bool = False

    def start(self) -> WorkerProcess:
        """Spawn the worker (returns at once; it consumes once it joined the group)."""
        env = {
            **os.environ,
            "FINSENT_DATABASE_URL": self.database_url,
            "FINSENT_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "FINSENT_KAFKA__TOPIC_PREFIX": self.topic_prefix,
            "FINSENT_DATA_DIR": str(self.data_dir),
            "FINSENT_STREAM__METRICS_PORT": "0",
            "HF_HUB_OFFLINE": "1",
            **self.env,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        cmd = [sys.executable, "-c", "from finsent.cli import main; main()", "worker", *self.options]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (no clean shutdown: nothing is committed on the way out)."""
        if self.proc is not None and self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close_log()

    def terminate(self) -> None:
        """SIGTERM without waiting (once: a second SIGTERM is not a clean stop); :meth:`stop` waits."""
        if self.proc is not None and self.alive and not self._terminated:
            self.proc.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``); returns the exit status."""
        if self.proc is None:
            return None
        if self.alive:
            self.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._close_log()
        return self.proc.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the worker's log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout_s: float = 30.0) -> list[Any]:
    """Read ``topic`` from the beginning (no consumer group) until ``expect`` records or the timeout.

    Returns:
        aiokafka ``ConsumerRecord`` objects (``key``, ``value``, ``headers``, ``partition``, ...).
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=30_000
    )
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic, timeout_s)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        await consumer.seek_to_beginning()
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: Any, topic: str, timeout_s: float) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = consumer.partitions_for_topic(topic)
        if found or time.monotonic() > deadline:
            return set(found or ())
        await consumer.topics()  # refresh metadata
        await asyncio.sleep(0.2)


_COUNT = text("SELECT count(*) FROM scores WHERE article_id = ANY(:ids)").bindparams(bindparam("ids"))


def count_scores(engine: Engine, ids: Sequence[str]) -> int:
    """Score rows (all model versions) of the given articles."""
    with engine.connect() as conn:
        return int(conn.execute(_COUNT, {"ids": list(ids)}).scalar_one())


def wait_for_scores(
    engine: Engine,
    ids: Sequence[str],
    expected: int,
    *,
    timeout_s: float,
    poll_s: float = 0.25,
    alive: Callable[[], bool] | None = None,
) -> int:
    """Poll until ``expected`` score rows exist for ``ids`` (or the timeout); returns the count.

    Args:
        alive: stop early when this says the workers are all dead.
    """
    deadline = time.monotonic() + timeout_s
    n = count_scores(engine, ids)
    while n < expected and time.monotonic() < deadline:
        if alive is not None and not alive():
            break
        time.sleep(poll_s)
        n = count_scores(engine, ids)
    return n


def promote_version(engine: Engine, version_dir: str | Path, store_dir: str | Path) -> str:
    """Register a version directory in place (its cached ONNX export stays usable) and promote it.

    Returns:
        The promoted version id.
    """
    from finsent.models.registry import ModelRegistry
    from finsent.storage.model_versions import SqlModelIndex

    registry = ModelRegistry(SqlModelIndex(engine), store_dir)
    record = registry.register(version_dir, copy=False)
    registry.promote(record.version)
    return record.version


def build_model_version(dest: Path, version: str, *, source: Path | None = None) -> Path:
    """A loadable model version directory at ``dest`` (built once; safe across processes).

    With ``source`` (a version directory, e.g. the shipped default) it is a copy renamed to
    ``version``; without, a tiny model trained for one step on generated headlines (for plumbing
    tests and benchmarks: its predictions mean nothing, its cost per text is the real encoder's).
    The directory is loaded once so the int8 ONNX export is cached inside it.
    """
    import fcntl
    import json
    import shutil

    dest.parent.mkdir(parents=True, exist_ok=True)
    with (dest.parent / f".{dest.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = dest / "finsent_model.json"
        if manifest.is_file():
            return dest
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        if source is not None:
            shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("onnx", "__pycache__"))
            meta = json.loads((tmp / "finsent_model.json").read_text(encoding="utf-8"))
            meta["version"] = version
            (tmp / "finsent_model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        else:
            _train_tiny(tmp, version)
        from finsent.models import Classifier

        Classifier.load(tmp, device="cpu").predict(["warm-up headline"])
        tmp.rename(dest)
        # the ONNX cache is keyed by the directory's weights, not its path: it survives the rename
        return dest


def _train_tiny(out: Path, version: str) -> None:
    from finsent.models.data import Example
    from finsent.models.training import TrainConfig, train

    titles = [a.title for a in make_articles(48, seed=7)]
    examples = [Example(t, topic=i % 20, sentiment=i % 3) for i, t in enumerate(titles)]
    config = TrainConfig(epochs=1, max_steps=1, batch_size=16, threads=1, dev_fraction=0.25, max_length=32)
    train(examples, out, config, version=version, progress=False)


def stop_workers(workers: Sequence[WorkerProcess], timeout_s: float = 20.0) -> None:
    """Stop every worker: all get SIGTERM first, so their shutdowns overlap."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.stop(timeout_s=timeout_s)
