"""The alerting service: the rule engine on PostgreSQL plus the webhook delivery worker.

``finsent alerts run`` (and ``finsent run``) serves it: windows are evaluated as the scored
topic's event-time watermark passes them, with a timer as the fallback (see :meth:`AlertService.serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from finsent.alerts.engine import AlertEngine, AlertEvent
from finsent.alerts.exceptions import RuleFileError
from finsent.alerts.publisher import KafkaAlertPublisher
from finsent.alerts.rules import RuleSet, load_rules
from finsent.alerts.store import DbAggregateReader, DbAlertStore
from finsent.alerts.webhooks import DeliveryOutcome, DeliveryWorker, RetryPolicy
from finsent.core.netguard import AddressPolicy
from finsent.core.settings import Settings
from finsent.stream.topics import Topics

__all__ = ["AlertService", "build_engine"]

log = logging.getLogger(__name__)


def build_engine(
    db: Engine,
    rules: RuleSet,
    *,
    kafka_bootstrap: str | None = None,
    alerts_topic: str | None = None,
) -> AlertEngine:
    """An :class:`AlertEngine` on PostgreSQL aggregates, publishing to ``alerts_topic`` if given."""
    publisher = None
    if kafka_bootstrap and alerts_topic:
        publisher = KafkaAlertPublisher(kafka_bootstrap, alerts_topic)
    return AlertEngine(rules, DbAggregateReader(db), DbAlertStore(db), publisher=publisher)


class AlertService:
    """Engine + delivery worker, with rule reloads that keep the running set on a bad file."""

    def __init__(
        self,
        engine: AlertEngine,
        worker: DeliveryWorker,
        *,
        lateness: timedelta,
        rules_path: Path | None = None,
    ) -> None:
        self.engine = engine
        self.worker = worker
        self.rules_path = rules_path
        self.lateness = lateness

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        db: Engine,
        *,
        topic_labels: Sequence[str] | None,
        kafka_bootstrap: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> AlertService:
        """Load the rule file of the settings (or the bundled one) and wire everything.

        Raises:
            RuleFileError: the rule file is invalid (the service does not start).
        """
        rules = load_rules(settings.alerts.rules_file, topic_labels=topic_labels)
        bootstrap = kafka_bootstrap or settings.kafka_bootstrap
        engine = build_engine(
            db, rules, kafka_bootstrap=bootstrap, alerts_topic=Topics(settings.kafka.topic_prefix).alerts
        )
        worker = DeliveryWorker(
            db,
            policy=policy or RetryPolicy(),
            guard=AddressPolicy.for_webhooks(settings.alerts.webhook_allow),
        )
        return cls(
            engine,
            worker,
            rules_path=settings.alerts.rules_file,
            lateness=settings.alerts.watermark_lateness,
        )

    def reload_rules(self) -> None:
        """Re-read the rule file (SIGHUP); an invalid file is logged and the running rules stay."""
        with contextlib.suppress(RuleFileError):
            rules = self.engine.reload(self.rules_path)
            log.info("reloaded %d rules from %s", len(rules.rules), rules.source)

    async def run_once(
        self, *, lookback: timedelta, grace: timedelta, now: datetime | None = None
    ) -> tuple[list[AlertEvent], list[DeliveryOutcome]]:
        """Catch up on missed windows, then send the deliveries that are due."""
        current = now or datetime.now(UTC)
        events = await asyncio.to_thread(self.engine.catch_up, current - grace, lookback)
        outcomes = await self.worker.run_once()
        return events, outcomes

    async def serve(
        self,
        stop: asyncio.Event,
        *,
        lookback: timedelta,
        grace: timedelta,
        interval_s: float = 10.0,
        scored_stream: tuple[str, str] | None = None,
    ) -> None:
        """Catch up, then evaluate windows as they close and deliver continuously until ``stop``.

        With ``scored_stream=(bootstrap, scored_topic)`` windows are evaluated as soon as the
        event-time watermark of the scored topic passes them (see :mod:`alerts.stream_driver`);
        the timer (``now - grace`` every ``interval_s``) stays as the fallback for quiet periods.
        """
        await asyncio.to_thread(self.engine.catch_up, datetime.now(UTC) - grace, lookback)
        delivery = asyncio.create_task(self.worker.run(stop))
        clock = None
        if scored_stream is not None:
            clock = asyncio.create_task(self._follow_stream(stop, *scored_stream))
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval_s)
                if stop.is_set():
                    break
                try:
                    await asyncio.to_thread(self.engine.advance, datetime.now(UTC) - grace)
                except Exception:  # a database hiccup must not end the service; retried next tick
                    log.exception("rule evaluation failed; retrying in %.0fs", interval_s)
        finally:
            stop.set()
            await delivery
            if clock is not None:
                await clock

    async def _follow_stream(self, stop: asyncio.Event, bootstrap: str, topic: str) -> None:
        from finsent.alerts.stream_driver import ScoredWatermark

        async def on_watermark(mark: datetime) -> None:
            try:
                events = await asyncio.to_thread(self.engine.advance, mark)
            except Exception:  # a database hiccup must not end the service; the timer retries
                log.exception("rule evaluation at watermark %s failed", mark)
                return
            if events:
                log.info("watermark %s: %d alert events", mark.isoformat(), len(events))

        while not stop.is_set():
            try:
                await ScoredWatermark(lateness=self.lateness).follow(bootstrap, topic, stop, on_watermark)
            except Exception:  # broker away: keep the timer going, try the stream again later
                log.exception("following %s failed; retrying in 10 s (timer still evaluates)", topic)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 10.0)
