"""Consumers outside Faust (aiokafka), with the bounded waits of :class:`DeliveryGuarantees`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from finsent.stream.kafka.config import DEFAULT_GUARANTEES, DeliveryGuarantees

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

__all__ = ["make_consumer"]


def make_consumer(
    *topics: str,
    bootstrap: str,
    group_id: str,
    client_id: str = "finsent",
    auto_offset_reset: str = "latest",
    guarantees: DeliveryGuarantees = DEFAULT_GUARANTEES,
    **extra: Any,
) -> AIOKafkaConsumer:
    """An aiokafka consumer (not started: ``await consumer.start()``) of ``topics``.

    Offsets are never committed automatically: a consumer commits what it has processed, or
    (a throw-away group) nothing at all.

    Args:
        topics: Topics to subscribe to.
        bootstrap: Comma separated ``host:port`` list of the brokers.
        group_id: Consumer group.
        client_id: Name the broker logs see.
        auto_offset_reset: Where a group without offsets starts: ``latest`` or ``earliest``.
        guarantees: Timeouts (default: :data:`DEFAULT_GUARANTEES`).
        extra: More ``AIOKafkaConsumer`` settings, applied last.
    """
    from aiokafka import AIOKafkaConsumer

    config: dict[str, Any] = {
        **guarantees.consumer_config(bootstrap, client_id),
        "group_id": group_id,
        "auto_offset_reset": auto_offset_reset,
        "enable_auto_commit": False,
        **extra,
    }
    return AIOKafkaConsumer(*topics, **config)
