"""finsent's Kafka clients, built in one place with one set of delivery guarantees.

Every producer, consumer and admin client outside Faust comes from here, so they all write and
wait the same way (see :class:`DeliveryGuarantees`): ``acks=all`` with idempotence, a few retries
with backoff, every wait bounded, buffered messages flushed on close.

* :class:`Producer` -- send batches and learn, per message, whether the broker acknowledged it
  (the ingest outbox, replays, the alerts topic).
* :func:`make_consumer` -- an aiokafka consumer that never commits on its own (the alerts
  service's watermark clock); :func:`log_holds` -- whether a partition's log holds an offset
  (the scoring worker's offset guard).
* :func:`open_admin` -- an admin client for topic creation and health checks (the runtime).

The Faust app (:mod:`finsent.stream.app`) keeps Faust's own clients.
"""

from __future__ import annotations

from finsent.stream.exceptions import KafkaUnavailableError
from finsent.stream.kafka.admin import open_admin
from finsent.stream.kafka.config import DEFAULT_GUARANTEES, DeliveryGuarantees, servers, tcp_reachable
from finsent.stream.kafka.consumer import log_holds, make_consumer
from finsent.stream.kafka.producer import Message, Producer

__all__ = [
    "DEFAULT_GUARANTEES",
    "DeliveryGuarantees",
    "KafkaUnavailableError",
    "Message",
    "Producer",
    "log_holds",
    "make_consumer",
    "open_admin",
    "servers",
    "tcp_reachable",
]
