"""Consumers outside Faust (aiokafka), with the bounded waits of :class:`DeliveryGuarantees`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from finsent.stream.kafka.config import DEFAULT_GUARANTEES, DeliveryGuarantees

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

__all__ = ["log_holds", "make_consumer"]


def make_consumer(
    *topics: str,
    bootstrap: str,
    group_id: str | None,
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
        group_id: Consumer group (None: no group, partitions assigned by hand).
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


async def log_holds(
    bootstrap: str,
    topic: str,
    partition: int,
    offset: int,
    *,
    timeout_s: float = 2.0,
    guarantees: DeliveryGuarantees = DEFAULT_GUARANTEES,
) -> bool:
    """Whether the partition's log still holds the record at ``offset`` (a fetch from it).

    The answer a broker's end offset cannot be trusted for: Tansu's ListOffsets reports the
    base offset of the last record batch plus one, so after a multi-record batch the end it
    reports lies behind records a consumer has already read. A throw-away consumer (no group)
    fetches from ``offset``; an empty answer within ``timeout_s`` or an out-of-range error means
    the log ends before it (a deleted and recreated topic).
    """
    from aiokafka import TopicPartition
    from aiokafka.errors import OffsetOutOfRangeError

    consumer = make_consumer(
        bootstrap=bootstrap,
        group_id=None,
        client_id="finsent-offset-probe",
        auto_offset_reset="none",
        guarantees=guarantees,
    )
    tp = TopicPartition(topic, partition)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        try:
            fetched = await consumer.getmany(tp, timeout_ms=int(timeout_s * 1000), max_records=1)
        except OffsetOutOfRangeError:
            return False
        return any(record.offset == offset for record in fetched.get(tp, []))
    finally:
        await consumer.stop()
