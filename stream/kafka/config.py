"""finsent's one set of Kafka delivery guarantees, and the client settings derived from it."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_GUARANTEES", "DeliveryGuarantees", "servers", "tcp_reachable"]


def servers(bootstrap: str) -> list[str]:
    """The ``host:port`` entries of a comma separated bootstrap string."""
    return [s.strip() for s in bootstrap.split(",") if s.strip()]


def tcp_reachable(bootstrap: str, timeout_s: float) -> bool:
    """Whether any broker of ``bootstrap`` accepts a TCP connection within ``timeout_s``.

    A cheap first probe: a dead port answers in milliseconds, while a Kafka client would spend
    its whole bootstrap timeout (and kafka-python 3.0 leaks the sockets of a failed bootstrap).
    """
    for server in servers(bootstrap):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


@dataclass(frozen=True)
class DeliveryGuarantees:
    """How every finsent producer writes, whatever the topic.

    Idempotent, fully acknowledged writes: ``acks=all`` with idempotence on, so a batch the
    client retries is never stored twice; a bounded number of retries with backoff; and every
    wait bounded, so a broker that is away costs a known time, never a hang.

    Args:
        connect_timeout_s: Longest wait to reach a broker, fetch metadata or block in ``send``.
        request_timeout_s: Longest wait for one produce request to be answered.
        delivery_timeout_s: Longest life of one message, retries included (also the flush
            timeout of :meth:`~finsent.stream.kafka.Producer.send`).
        retries: Retries of a failed produce request.
        retry_backoff_s: Wait between retries.
        linger_s: How long a batch waits for more messages before it is sent.
        close_timeout_s: Longest wait on close to deliver what is buffered.
    """

    connect_timeout_s: float = 5.0
    request_timeout_s: float = 10.0
    delivery_timeout_s: float = 30.0
    retries: int = 5
    retry_backoff_s: float = 0.1
    linger_s: float = 0.01
    close_timeout_s: float = 5.0

    def producer_config(self, bootstrap: str, client_id: str) -> dict[str, Any]:
        """kafka-python ``KafkaProducer`` settings for these guarantees."""
        connect_ms = _ms(self.connect_timeout_s)
        request_ms = max(_ms(self.request_timeout_s), 1000)
        linger_ms = _ms(self.linger_s)
        return {
            "bootstrap_servers": servers(bootstrap),
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "retries": self.retries,
            "retry_backoff_ms": _ms(self.retry_backoff_s),
            "linger_ms": linger_ms,
            "max_block_ms": connect_ms,
            "bootstrap_timeout_ms": connect_ms,
            "request_timeout_ms": request_ms,
            # kafka-python insists on delivery >= linger + request.
            "delivery_timeout_ms": max(_ms(self.delivery_timeout_s), request_ms + linger_ms),
        }

    def consumer_config(self, bootstrap: str, client_id: str) -> dict[str, Any]:
        """aiokafka ``AIOKafkaConsumer`` settings with the same bounded waits."""
        return {
            "bootstrap_servers": servers(bootstrap),
            "client_id": client_id,
            # A fetch long-polls the broker: leave it room beyond one ordinary request.
            "request_timeout_ms": max(_ms(self.request_timeout_s), 1000) + 5000,
            "retry_backoff_ms": _ms(self.retry_backoff_s),
        }

    def admin_config(self, bootstrap: str, client_id: str) -> dict[str, Any]:
        """kafka-python ``KafkaAdminClient`` settings with the same bounded waits."""
        request_ms = max(_ms(self.request_timeout_s), 1000)
        return {
            "bootstrap_servers": servers(bootstrap),
            "client_id": client_id,
            "request_timeout_ms": request_ms,
            "bootstrap_timeout_ms": request_ms,
        }


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


#: The guarantees every producer, consumer and admin client of finsent is built with.
DEFAULT_GUARANTEES = DeliveryGuarantees()
