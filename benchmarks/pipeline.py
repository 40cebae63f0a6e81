"""`finsent bench pipeline`: end-to-end throughput and latency of real scoring workers.

On the running stack it creates a scratch database (dropped afterwards), and for each mode
(:data:`benchmarks.pipeline_modes.MODES`: headline-only, whole-article, whole-article without entity
scoring) a fresh topic prefix and ``finsent worker`` processes, and measures in one run:

1. the standalone engine: ``Classifier.predict`` on the very units (headlines, sentences, entity
   targets) the workers will score for (up to 1,500, or 300 whole, of) the articles, in batches of
   the worker batch size, before and after the pipeline phases (the
   baseline is the mean: the load of a shared machine drifts);
2. full speed: N articles published at once; sustained articles/s = N / (last row stored - first
   publish), plus the steady-state rate between the 10th and 90th percentile rows;
3. fixed rate at a fraction (default 50%) of the sustained rate: publish -> row latency
   percentiles. Two clocks are reported: the row's ``scored_at`` (stamped just before the write
   transaction: a lower bound) and the moment the scored record is seen on the scored topic
   (published only after the commit: an upper bound).

Each worker's ``/metrics`` is read before and after the full-speed phase: the seconds it spent in
each stage (decode, plan, inference, assemble, store, publish) are the profile of where the gap to
the engine goes.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, text

from benchmarks.pipeline_modes import (
    MODES,
    corpus_maker,
    mode_units,
    profile_delta,
    scrape_profile,
    standalone_rate,
)
from benchmarks.pipeline_stats import (
    check_targets,
    cpu_name,
    mode_ratios,
    percentiles,
    render_table,
    steady_rate,
)
from finsent.core.records import ArticleRecord, ScoredArticleRecord
from finsent.core.settings import Settings
from finsent.runtime.processes import free_port
from finsent.stream.exceptions import ModelUnavailableError
from finsent.stream.topics import Topics
from tests.support.stream_harness import (
    ArticlePublisher,
    WorkerProcess,
    promote_version,
    wait_for_scores,
)

__all__ = ["MODES", "PipelineBenchConfig", "render_table", "run_pipeline_bench"]

#: Texts of the full-speed set the standalone engine is timed on (before and after the pipeline).
ENGINE_SAMPLE = 1500


@dataclass(frozen=True)
class PipelineBenchConfig:
    """What to run. Rates are articles per second; the worker's batching comes from the settings
    (``settings.stream``), so it has no defaults of its own here."""

    database_url: str
    kafka_bootstrap: str
    batch_size: int
    batch_window_s: float
    concurrency: int
    articles: int = 3000
    rate_fraction: float = 0.5
    rate_seconds: float = 20.0
    workers: int = 1
    model_path: Path | None = None
    timeout_s: float = 900.0
    corpus: str = "demo"
    modes: tuple[str, ...] = tuple(MODES)


def run_pipeline_bench(
    settings: Settings,
    cfg: PipelineBenchConfig,
    *,
    create_topics: Callable[[str, list[str], int], object],
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmark, every mode of ``cfg.modes`` in turn; returns the report (see :func:`render_table`).

    Args:
        settings: finsent settings (device, CPU backend, token limit, partitions).
        cfg: what to run.
        create_topics: ``(bootstrap, names, partitions)`` creating Kafka topics (the app shell's).
        progress: receives one line per phase.

    Raises:
        ModelUnavailableError: no model to benchmark (none in production, none shipped).
    """
    model_path = cfg.model_path or _production_model_path(cfg.database_url)
    modes: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="finsent-bench-") as tmp,
        _ScratchDatabase(cfg.database_url) as db,
    ):
        promote_version(db.engine, model_path, Path(tmp) / "models")
        for mode in cfg.modes:
            progress(f"== mode {mode} ==")
            modes[mode] = _run_mode(settings, cfg, db, model_path, Path(tmp), mode, create_topics, progress)
    first = modes[cfg.modes[0]]
    report: dict[str, Any] = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_name(),
            "cpus": os.cpu_count(),
            "device": settings.models.device,
            "backend": first["backend"],
            "entity_head": first["entity_head"],
        },
        "config": {
            k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items() if k != "database_url"
        },
        "model": str(model_path),
        "max_sentences": settings.stream.max_sentences,
        "modes": modes,
        # the first mode's figures at the top level, as before modes existed
        **{k: first[k] for k in ("standalone_engine_articles_per_s", "full_speed", "fixed_rate")},
    }
    report["ratios"] = mode_ratios(modes)
    report["targets"] = check_targets(cfg.rate_fraction, modes, report["ratios"])
    return report


def _run_mode(
    settings: Settings,
    cfg: PipelineBenchConfig,
    db: _ScratchDatabase,
    model_path: Path,
    tmp: Path,
    mode: str,
    create_topics: Callable[[str, list[str], int], object],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    engine = db.engine
    prefix = f"bench{uuid.uuid4().hex[:10]}"
    topics = Topics(prefix)
    create_topics(cfg.kafka_bootstrap, topics.all(), settings.kafka.topic_partitions)
    run_id = uuid.uuid4().hex[:6]
    corpus = corpus_maker(cfg.corpus)
    warm = corpus(max(2 * cfg.batch_size, 50), 11, f"w{run_id}-")
    full = corpus(cfg.articles, 12, f"f{run_id}-")
    plans = mode_units(full, settings, mode)
    sentences = sum(len(p.units) - 1 for p in plans if p.whole_article)
    sample = plans[: ENGINE_SAMPLE if mode == "headline" else ENGINE_SAMPLE // 5]
    progress(f"standalone engine on {len(sample)} of the articles (batch {cfg.batch_size}) ...")
    engine_before, backend, head = standalone_rate(settings, model_path, sample, cfg.batch_size, mode)
    progress(f"  {engine_before:.1f} articles/s on {backend} (entity head: {head})")
    ports = [free_port() for _ in range(cfg.workers)]
    workers = [
        _worker(settings, cfg, db.url, prefix, tmp, f"{mode}-{i}", mode, ports[i]) for i in range(cfg.workers)
    ]

    def alive() -> bool:
        return any(w.alive for w in workers)

    try:
        progress(f"{cfg.workers} worker(s) starting; warm-up with {len(warm)} articles ...")
        asyncio.run(_publish(cfg.kafka_bootstrap, topics.raw_articles, warm))
        _must_all_score(engine, warm, cfg.timeout_s, alive, workers)
        profile_before = [scrape_profile(p) for p in ports]
        progress(f"full speed: {len(full)} articles ({sentences} body sentences) ...")
        t_first = datetime.now(UTC)
        asyncio.run(_publish(cfg.kafka_bootstrap, topics.raw_articles, full))
        _must_all_score(engine, full, cfg.timeout_s, alive, workers)
        profile = profile_delta(profile_before, [scrape_profile(p) for p in ports])
        stored = _scored_times(engine, [a.id for a in full])
        span_s = max(1e-9, (max(stored) - t_first).total_seconds())
        sustained = len(full) / span_s
        steady = steady_rate(stored)
        progress(f"  sustained {sustained:.1f} articles/s (steady state {steady:.1f})")

        rate = max(1.0, cfg.rate_fraction * sustained)
        n_rate = max(20, int(rate * cfg.rate_seconds))
        fixed = corpus(n_rate, 13, f"r{run_id}-")
        progress(f"fixed rate: {n_rate} articles at {rate:.1f}/s ...")
        observed = asyncio.run(_publish_and_observe(cfg.kafka_bootstrap, topics, fixed, rate, cfg.timeout_s))
        _must_all_score(engine, fixed, cfg.timeout_s, alive, workers)
    finally:
        for w in workers:
            w.stop(timeout_s=30)
    # measured again with the workers gone: the machine's load drifts, the mean is the baseline
    engine_after, _, _ = standalone_rate(settings, model_path, sample, cfg.batch_size, mode)
    engine_rate = (engine_before + engine_after) / 2
    progress(f"standalone engine again: {engine_after:.1f} articles/s")
    upper = [v[1] for v in observed.values()]
    lower = [v[0] for v in observed.values()]
    return {
        "backend": backend,
        "entity_head": head,
        "standalone_engine_articles_per_s": engine_rate,
        "standalone_engine_runs_articles_per_s": [engine_before, engine_after],
        "full_speed": {
            "articles": len(full),
            "body_sentences": sentences,
            "entities": sum(len(p.entities) for p in plans),
            "sustained_articles_per_s": sustained,
            "sustained_sentences_per_s": sentences / span_s,
            "steady_state_articles_per_s": steady,
            "ratio_to_engine": sustained / engine_rate,
            "worker_seconds_by_stage": profile,
            # share of the phase the inference thread was busy: ~1 = the pipeline keeps the engine fed
            "inference_duty": profile.get("inference", 0.0) / span_s,
            "wall_s": span_s,
        },
        "fixed_rate": {
            "fraction_of_sustained": cfg.rate_fraction,
            "rate_articles_per_s": rate,
            "articles": len(fixed),
            "observed": len(observed),
            "latency_s_publish_to_row_committed": percentiles(upper),
            "latency_s_publish_to_row_written": percentiles(lower),
        },
    }


class _ScratchDatabase:
    """A new database on the same server, migrated; dropped on exit."""

    def __init__(self, url: str) -> None:
        self._admin_url = url.rsplit("/", 1)[0] + "/postgres"
        self.name = f"finsent_bench_{uuid.uuid4().hex[:10]}"
        self.url = url.rsplit("/", 1)[0] + f"/{self.name}"
        self.engine: Engine

    def __enter__(self) -> _ScratchDatabase:
        from finsent.storage.db import make_engine, upgrade

        self._admin(f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)
        self.engine = make_engine(self.url, pool_size=2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        """Run one statement on the server's ``postgres`` database (outside a transaction)."""
        from finsent.storage.db import make_engine

        admin = make_engine(self._admin_url, pool_size=1, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(statement))
        finally:
            admin.dispose()


def _production_model_path(database_url: str) -> Path:
    from finsent.storage.db import make_engine
    from finsent.stream.model_watch import production_model

    engine = make_engine(database_url, pool_size=1)
    try:
        found = production_model(engine)
    finally:
        engine.dispose()
    if found is not None:
        return Path(found.path)
    from finsent.models.registry import DEFAULT_MODEL_DIR

    if (DEFAULT_MODEL_DIR / "finsent_model.json").is_file():
        return DEFAULT_MODEL_DIR
    raise ModelUnavailableError("no production model and no shipped default: train one first")


def _worker(
    settings: Settings,
    cfg: PipelineBenchConfig,
    db_url: str,
    prefix: str,
    tmp: Path,
    i: str,
    mode: str,
    metrics_port: int,
) -> WorkerProcess:
    return WorkerProcess(
        db_url,
        cfg.kafka_bootstrap,
        prefix,
        data_dir=tmp / f"w{i}",
        log_path=tmp / f"w{i}.log",
        options=[
            "--batch-size",
            str(cfg.batch_size),
            "--batch-window",
            f"{cfg.batch_window_s}s",
            "--concurrency",
            str(cfg.concurrency),
            "--log-format",
            "json",
        ],
        env={
            "FINSENT_MODEL_STORE": str(tmp / "models"),
            "FINSENT_LOG_LEVEL": "WARNING",
            "FINSENT_STREAM__METRICS_PORT": str(metrics_port),
            **MODES[mode],
        },
    ).start()


async def _publish(bootstrap: str, topic: str, articles: Sequence[ArticleRecord]) -> None:
    async with ArticlePublisher(bootstrap, topic) as pub:
        await pub.publish(articles)


def _must_all_score(
    engine: Engine,
    articles: Sequence[ArticleRecord],
    timeout_s: float,
    alive: Callable[[], bool],
    workers: Sequence[WorkerProcess],
) -> None:
    ids = [a.id for a in articles]
    # polled once a second: the bench must not steal the CPU it measures (row times come from the rows)
    n = wait_for_scores(engine, ids, len(ids), timeout_s=timeout_s, alive=alive, poll_s=1.0)
    if n < len(ids):
        tail = "\n".join(w.log_tail(1500) for w in workers)
        raise RuntimeError(
            f"only {n}/{len(ids)} articles scored within {timeout_s:.0f} s; worker logs:\n{tail}"
        )


_SCORED_AT = text("SELECT scored_at FROM scores WHERE article_id = ANY(:ids)").bindparams(bindparam("ids"))


def _scored_times(engine: Engine, ids: Sequence[str]) -> list[datetime]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(_SCORED_AT, {"ids": list(ids)})]


async def _publish_and_observe(
    bootstrap: str, topics: Topics, articles: Sequence[ArticleRecord], rate: float, timeout_s: float
) -> dict[str, tuple[float, float]]:
    """Publish at ``rate`` while watching the scored topic; per article ``(written, committed)`` latency."""
    from aiokafka import AIOKafkaConsumer

    wanted = {a.id for a in articles}
    seen: dict[str, tuple[float, float]] = {}
    consumer = AIOKafkaConsumer(
        topics.scored_articles,
        bootstrap_servers=bootstrap,
        auto_offset_reset="latest",
        fetch_max_wait_ms=10,
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        await consumer.seek_to_end()
        done = asyncio.Event()

        async def watch() -> None:
            while not done.is_set() or len(seen) < len(wanted):
                batches = await consumer.getmany(timeout_ms=50)
                now = datetime.now(UTC)
                for records in batches.values():
                    for r in records:
                        rec = ScoredArticleRecord.from_bytes(r.value)
                        if rec.article_id in wanted and rec.article_id not in seen:
                            seen[rec.article_id] = (
                                (rec.scored_at - rec.emitted_at).total_seconds(),
                                (now - rec.emitted_at).total_seconds(),
                            )

        watcher = asyncio.create_task(watch())
        await _publish_rate(bootstrap, topics.raw_articles, articles, rate)
        done.set()
        try:
            await asyncio.wait_for(watcher, timeout=timeout_s)
        except TimeoutError:
            watcher.cancel()
    finally:
        await consumer.stop()
    return seen


async def _publish_rate(bootstrap: str, topic: str, articles: Sequence[ArticleRecord], rate: float) -> None:
    async with ArticlePublisher(bootstrap, topic) as pub:
        await pub.publish(articles, rate=rate)
