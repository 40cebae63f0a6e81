"""Assemble and run one scoring worker process (what `finsent worker` runs)."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import time
from collections.abc import Callable
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential, wait_random

from finsent.storage.db import make_engine
from finsent.storage.exceptions import StorageUnavailableError
from finsent.stream.agents.scoring import register_scoring_agent
from finsent.stream.app import FaustPublisher, LagTracker, create_app
from finsent.stream.config import StreamConfig
from finsent.stream.inference import ClassifierLike, ModelRunner
from finsent.stream.kafka import log_holds
from finsent.stream.logs import logging_config
from finsent.stream.metrics import StreamMetrics
from finsent.stream.model_watch import ModelWatcher, classifier_loader
from finsent.stream.offset_guard import OffsetGuard
from finsent.stream.pipeline import ArticleOptions, ScoringPipeline
from finsent.stream.sink import ScoreSink

__all__ = ["ScoringWorker"]

log = logging.getLogger(__name__)

# Seconds between offset-guard checks. A partition is reset after two checks find it at the same
# position past the same end and a probe of the log (2 s when it is empty) confirms it, so a
# recreated topic is read again within about 10 s of the worker joining (8 s in the fault test).
GUARD_INTERVAL_S = 3.0


class ScoringWorker:
    """One worker process: model, database sink, Faust app and agent, metrics endpoint."""

    def __init__(
        self,
        config: StreamConfig,
        *,
        load: Callable[[str], ClassifierLike] | None = None,
        startup_timeout_s: float,
        json_logs: bool = True,
    ) -> None:
        """Args:
        config: resolved worker settings.
        load: loads a classifier from a version directory (default: ``models.Classifier.load``
            with the config's device, backend, token limit and batch size).
        startup_timeout_s: how long to wait for PostgreSQL at start-up (``settings.startup_timeout``).
        json_logs: JSON lines (default) or plain text logs.
        """
        self.config = config
        self.metrics = StreamMetrics()
        self.engine = make_engine(config.database_url, pool_size=config.concurrency + 1)
        self.runner = ModelRunner()
        self.watcher = ModelWatcher(
            self.engine,
            self.runner,
            load
            or classifier_loader(
                device=config.device,
                cpu_backend=config.cpu_backend,
                max_length=config.max_length,
                batch_size=config.batch_size,
            ),
            check_every_s=config.reload_check_s,
            model_store=config.model_store,
            metrics=self.metrics,
        )
        self.sink = ScoreSink(self.engine, metrics=self.metrics, threads=config.concurrency)
        self._startup_timeout_s = startup_timeout_s
        self._json_logs = json_logs
        self._pipeline: ScoringPipeline | None = None

    async def _load_model(self) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(StorageUnavailableError),
            wait=wait_exponential(multiplier=0.5, max=5.0) + wait_random(0, 0.5),
            stop=stop_after_delay(self._startup_timeout_s),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self.watcher.start()

    def build_app(self) -> Any:
        """The Faust app with the scoring agent and the lag timer declared."""
        cfg = self.config
        app = create_app(cfg)
        pipeline = ScoringPipeline(
            runner=self.runner,
            sink=self.sink,
            publisher=FaustPublisher(app),
            topics=cfg.topics,
            metrics=self.metrics,
            watcher=self.watcher,
            options=ArticleOptions.of(cfg),
        )
        lag = LagTracker(app, self.metrics)
        source = app.topic(cfg.topics.raw_articles, key_serializer="raw", value_serializer="raw")
        register_scoring_agent(
            app,
            source,
            pipeline,
            batch_size=cfg.batch_size,
            batch_window_s=cfg.batch_window_s,
            concurrency=cfg.concurrency,
            on_batch=lag.on_batch,
        )

        async def refresh_lag() -> None:
            lag.update()

        async def progress() -> None:
            log.info("progress", extra={**pipeline.totals, "model_version": self.runner.version})

        async def log_holds_record(tp: Any, offset: int) -> bool:
            return await log_holds(cfg.kafka_bootstrap, tp.topic, tp.partition, offset)

        guard = OffsetGuard(cfg.topics.raw_articles, holds=log_holds_record)

        async def guard_offsets() -> None:
            try:
                await guard.check(app.consumer)
            except Exception:  # a rebalance or a broker hiccup: look again at the next tick
                log.debug("offset guard skipped a tick", exc_info=True)

        app.timer(5.0)(refresh_lag)
        app.timer(GUARD_INTERVAL_S)(guard_offsets)
        app.timer(30.0)(progress)

        self._pipeline = pipeline

        return app

    def run(self) -> None:
        """Load the production model, then consume until stopped (SIGTERM/SIGINT) or crashed.

        Raises:
            ModelUnavailableError: no production model could be found or registered.
            StorageUnavailableError: PostgreSQL did not answer within the start-up timeout.
        """
        import faust

        from finsent.models.quiet import quiet_third_party

        quiet_third_party()  # progress bars off; imports transformers, which resets its logger level
        logging.config.dictConfig(logging_config(self.config.log_level, json_lines=self._json_logs))
        started = time.perf_counter()
        asyncio.run(self._load_model())
        metrics_port = self.metrics.serve(self.config.metrics_port)
        app = self.build_app()
        log.info(
            "worker starting",
            extra={
                "group": self.config.group_id,
                "topic": self.config.topics.raw_articles,
                "batch_size": self.config.batch_size,
                "batch_window_s": self.config.batch_window_s,
                "concurrency": self.config.concurrency,
                "model_version": self.runner.version,
                "metrics_port": metrics_port,
                "startup_s": round(time.perf_counter() - started, 2),
            },
        )
        worker = faust.Worker(
            app,
            loglevel=self.config.log_level,
            logging_config=logging_config(self.config.log_level, json_lines=self._json_logs),
            quiet=True,
        )
        try:
            worker.execute_from_commandline()
        finally:
            totals = self._pipeline.totals if self._pipeline is not None else {}
            log.info("worker stopped", extra={**totals, "model_version": self.runner.version})
            self.runner.close()
            self.sink.close()
            self.engine.dispose()
