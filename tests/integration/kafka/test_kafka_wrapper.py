"""finsent.stream.kafka against the real broker: acknowledged sends, the consumer, the admin client."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Callable

import pytest

from finsent.stream.kafka import (
    DeliveryGuarantees,
    KafkaUnavailableError,
    Producer,
    make_consumer,
    open_admin,
)


async def _read(bootstrap: str, topic: str, want: int, timeout_s: float = 30.0) -> list[tuple[bytes, bytes]]:
    consumer = make_consumer(
        topic, bootstrap=bootstrap, group_id=f"g-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    got: list[tuple[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(got) < want:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    got.extend((m.key, m.value) for m in messages)
    finally:
        await consumer.stop()
    return got


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_producer_reports_every_message_acknowledged_and_the_consumer_reads_them(
    embedded_stack, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=2)
    messages = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(20)]
    with Producer(embedded_stack.kafka_bootstrap, client_id="finsent-test") as producer:
        assert producer.send(topic, messages) == [True] * 20
        assert producer.send(topic, []) == []

    got = asyncio.run(_read(embedded_stack.kafka_bootstrap, topic, 20))

    assert sorted(got) == sorted(messages)


def test_producer_without_a_broker_raises_unavailable_at_once() -> None:
    producer = Producer(f"127.0.0.1:{_closed_port()}", guarantees=DeliveryGuarantees(connect_timeout_s=1.0))
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError, match="unreachable"):
        producer.send("nowhere", [(b"k", b"v")])
    assert time.monotonic() - started < 5
    producer.close()


def test_admin_client_sees_the_topics_of_the_broker(
    embedded_stack, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory()
    with open_admin(embedded_stack.kafka_bootstrap, timeout_s=10) as admin:
        assert topic in admin.list_topics()
