"""The one Kafka producer of finsent: kafka-python with :class:`DeliveryGuarantees`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from finsent.stream.exceptions import KafkaUnavailableError
from finsent.stream.kafka.config import DEFAULT_GUARANTEES, DeliveryGuarantees, tcp_reachable

if TYPE_CHECKING:
    from kafka import KafkaProducer

__all__ = ["Message", "Producer"]

log = logging.getLogger(__name__)

#: One record to send: ``(key, value)``.
Message = tuple[bytes | None, bytes | None]


class Producer:
    """A lazily connected, thread-safe producer with finsent's delivery guarantees.

    The client is created on the first :meth:`send` (a TCP probe first, so a broker that is down
    answers at once). A send that is not fully acknowledged discards the client: the next send
    builds a fresh one, which reconnects cleanly once the broker is back. :meth:`close` (or
    leaving a ``with`` block) flushes what is buffered, within ``close_timeout_s``.

    Args:
        bootstrap: Comma separated ``host:port`` list of the brokers.
        client_id: Name the broker logs and quotas see (``finsent-ingest``, ``finsent-alerts``).
        guarantees: Timeouts and retries (default: :data:`DEFAULT_GUARANTEES`).
        extra: More ``KafkaProducer`` settings, applied last (tuning, never the guarantees).
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "finsent",
        guarantees: DeliveryGuarantees = DEFAULT_GUARANTEES,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.guarantees = guarantees
        self.extra = dict(extra or {})
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, topic: str, messages: Sequence[Message]) -> list[bool]:
        """Send messages and wait (up to ``delivery_timeout_s``) for the broker's acknowledgements.

        Returns:
            Per message, whether the broker acknowledged it (in the order given).

        Raises:
            KafkaUnavailableError: no broker could be reached; nothing was sent.
        """
        from kafka.errors import KafkaError

        with self._lock:
            producer = self._client()
            futures = []
            try:
                for key, value in messages:
                    futures.append(producer.send(topic, key=key, value=value))
                producer.flush(timeout=self.guarantees.delivery_timeout_s)
            except (KafkaError, OSError) as exc:
                log.warning("kafka send to %s failed: %s", topic, exc)
            acked = [f.is_done and f.succeeded() for f in futures]
            acked += [False] * (len(messages) - len(acked))
            if not all(acked):
                self._discard(timeout_s=1.0)  # what failed is reported; nothing worth flushing
            return acked

    def close(self) -> None:
        """Flush what is buffered (within ``close_timeout_s``) and close the client."""
        with self._lock:
            self._discard(timeout_s=self.guarantees.close_timeout_s)

    def _client(self) -> KafkaProducer:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        if self._producer is None:
            if not tcp_reachable(self.bootstrap, self.guarantees.connect_timeout_s):
                raise KafkaUnavailableError(
                    f"Kafka at {self.bootstrap} unreachable (connection refused or timed out)"
                )
            config = {**self.guarantees.producer_config(self.bootstrap, self.client_id), **self.extra}
            try:
                self._producer = KafkaProducer(**config)
            except (KafkaError, OSError) as exc:
                raise KafkaUnavailableError(f"Kafka at {self.bootstrap} unreachable: {exc}") from None
        return self._producer

    def _discard(self, *, timeout_s: float) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=timeout_s)
            except Exception:  # closing a broken producer may fail in many ways; it is discarded anyway
                log.debug("closing kafka producer failed", exc_info=True)
