"""Publishes alert lifecycle events as :class:`~finsent.core.records.AlertRecord` to the alerts topic."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from finsent.alerts.engine import AlertEvent
from finsent.core.records import AlertRecord
from finsent.stream.kafka import KafkaUnavailableError, Producer

__all__ = ["CLIENT_ID", "KafkaAlertPublisher", "to_record"]

#: Kafka client id of the alerts stage's producer.
CLIENT_ID = "finsent-alerts"

log = logging.getLogger(__name__)


def to_record(event: AlertEvent, *, at: datetime | None = None) -> AlertRecord:
    """The AlertRecord of one event: its stored alert's payload, as of ``at`` (default now)."""
    return event.payload.to_record(event.event, at=at)


class KafkaAlertPublisher:
    """Sends alert events through :class:`finsent.stream.kafka.Producer`; failures are logged, never raised.

    The database is the source of truth for alerts; the topic is a feed for other consumers, so
    a broker that is away must not stop alerting.

    Args:
        bootstrap: Comma separated ``host:port`` list of the brokers.
        topic: The alerts topic.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._producer = Producer(bootstrap, client_id=CLIENT_ID)

    def publish(self, events: Sequence[AlertEvent]) -> None:
        """Send one AlertRecord per event, keyed by ``rule_id:scope_kind:scope_value``."""
        self.publish_records([to_record(e) for e in events])

    def publish_records(self, records: Sequence[AlertRecord]) -> None:
        """Send ready-made records (e.g. an ``acknowledged`` event from the CLI)."""
        messages = [(f"{r.rule_id}:{r.scope_kind}:{r.scope_value}".encode(), r.to_bytes()) for r in records]
        try:
            acked = self._producer.send(self.topic, messages)
        except KafkaUnavailableError as exc:
            log.error("publishing %d alert events to %s failed: %s", len(records), self.topic, exc)
            return
        if not all(acked):
            missing = len(acked) - sum(acked)
            log.error("%d of %d alert events not acknowledged by %s", missing, len(records), self.topic)

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close()
