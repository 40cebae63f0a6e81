"""Publishes alert lifecycle events as :class:`stream.records.AlertRecord` to the alerts topic."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from finsent.alerts.engine import AlertEvent
from finsent.core.records import AlertRecord

__all__ = ["KafkaAlertPublisher", "to_record"]

log = logging.getLogger(__name__)


def to_record(event: AlertEvent, *, at: datetime | None = None) -> AlertRecord:
    """The AlertRecord of one event (value/baseline/statistic from the stored alert)."""
    view = event.view
    det = event.detection
    value = view.get("value", det.value if det else 0.0)
    return AlertRecord(
        alert_id=event.alert_id,
        event=event.event,  # type: ignore[arg-type]  # opened | updated | resolved | acknowledged
        rule_id=event.rule.id,
        rule_kind=event.rule.kind,
        scope_kind=event.state.scope_kind,  # type: ignore[arg-type]  # validated rule scope
        scope_value=event.state.scope_value,
        severity=event.rule.severity,
        value=float(value if value is not None else 0.0),
        baseline=view.get("baseline", det.baseline if det else None),
        statistic=view.get("statistic", det.statistic if det else None),
        window_start=event.state.window_start,
        window_end=event.state.window_end,
        at=at or datetime.now(UTC),
        details={k: v for k, v in view.items() if k in ("details", "top_articles", "status")},
    )


class KafkaAlertPublisher:
    """kafka-python producer (acks=all, bounded timeouts); failures are logged, never raised.

    The database is the source of truth for alerts; the topic is a feed for other consumers.
    """

    def __init__(self, bootstrap: str, topic: str, *, timeout_s: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self._producer: Any = None

    def _get(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer  # lazy: kafka-python only where alerts are published

            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap.split(","),
                acks="all",
                request_timeout_ms=int(self.timeout_s * 1000),
                max_block_ms=int(self.timeout_s * 1000),
            )
        return self._producer

    def publish(self, events: Sequence[AlertEvent]) -> None:
        """Send one AlertRecord per event, keyed by ``rule_id:scope_kind:scope_value``."""
        self.publish_records([to_record(e) for e in events])

    def publish_records(self, records: Sequence[AlertRecord]) -> None:
        """Send ready-made records (e.g. an ``acknowledged`` event from the CLI)."""
        try:
            producer = self._get()
            futures = [
                producer.send(
                    self.topic,
                    key=f"{r.rule_id}:{r.scope_kind}:{r.scope_value}".encode(),
                    value=r.to_bytes(),
                )
                for r in records
            ]
            for future in futures:
                future.get(timeout=self.timeout_s)
        except Exception:  # a broker outage must not stop alerting
            log.exception("publishing %d alert events to %s failed", len(records), self.topic)

    def close(self) -> None:
        """Flush and close the producer."""
        if self._producer is not None:
            self._producer.close(timeout=self.timeout_s)
            self._producer = None
