"""finsent.stream.kafka against the real broker: acknowledged sends, the consumer, the admin client."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from finsent.stream.kafka import (
    DeliveryGuarantees,
    KafkaUnavailableError,
    Producer,
    log_holds,
    make_consumer,
    open_admin,
)


async def _read(bootstrap: str, topic: str, want: int, timeout_s: float = 30.0) -> list[tuple[bytes, bytes]]:
    consumer = make_consumer(topic, bootstrap=bootstrap, group_id=None, auto_offset_reset="earliest")
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


class _GuardedConsumer:
    """The part of Faust's consumer the offset guard uses, over a plain aiokafka consumer."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer
        self._committed_offset: dict[Any, Any] = {}

    def assignment(self) -> set[Any]:
        return set(self._consumer.assignment())

    async def position(self, tp: Any) -> int:
        return int(await self._consumer.position(tp))

    async def highwaters(self, *tps: Any) -> dict[Any, int]:
        return dict(await self._consumer.end_offsets(list(tps)))

    async def earliest_offsets(self, *tps: Any) -> dict[Any, int]:
        return dict(await self._consumer.beginning_offsets(list(tps)))

    async def seek(self, tp: Any, offset: int) -> None:
        self._consumer.seek(tp, offset)


def test_offset_guard_leaves_a_read_multi_record_batch_alone_and_resets_a_position_past_the_log(
    embedded_stack, topic_factory: Callable[..., str]
) -> None:
    """A partition whose last write was one batch of 3 records, read to its end (position 3),
    is not re-read however often the guard looks (Tansu reports its end as 1: the batch's base
    offset + 1); a position past the log (a recreated topic's committed offset) is reset to 0."""
    from aiokafka import TopicPartition

    from finsent.stream.offset_guard import OffsetGuard

    bootstrap = embedded_stack.kafka_bootstrap
    topic = topic_factory(partitions=1)
    with Producer(bootstrap, client_id="finsent-test") as producer:
        assert producer.send(topic, [(b"k", b"a"), (b"k", b"b"), (b"k", b"c")]) == [True] * 3

    async def holds(tp: Any, offset: int) -> bool:
        return await log_holds(bootstrap, tp.topic, tp.partition, offset)

    async def scenario() -> tuple[list[int], int, list[int], int]:
        consumer = make_consumer(bootstrap=bootstrap, group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        tp = TopicPartition(topic, 0)
        try:
            consumer.assign([tp])
            read = 0
            async with asyncio.timeout(20):
                while read < 3:
                    read += len((await consumer.getmany(tp, timeout_ms=500)).get(tp, []))
            guarded, guard = _GuardedConsumer(consumer), OffsetGuard(topic, holds=holds)
            read_to_end = [len(await guard.check(guarded)) for _ in range(3)]
            at_end = await consumer.position(tp)
            consumer.seek(tp, 500)
            past_the_log = [len(await guard.check(guarded)) for _ in range(2)]
            return read_to_end, at_end, past_the_log, await consumer.position(tp)
        finally:
            await consumer.stop()

    read_to_end, at_end, past_the_log, after_reset = asyncio.run(scenario())
    assert read_to_end == [0, 0, 0] and at_end == 3
    assert past_the_log == [0, 1] and after_reset == 0


def test_log_holds_answers_from_the_log(embedded_stack, topic_factory: Callable[..., str]) -> None:
    bootstrap = embedded_stack.kafka_bootstrap
    topic = topic_factory(partitions=1)
    with Producer(bootstrap, client_id="finsent-test") as producer:
        assert producer.send(topic, [(b"k", b"a"), (b"k", b"b"), (b"k", b"c")]) == [True] * 3

    async def ask(offset: int) -> bool:
        return await log_holds(bootstrap, topic, 0, offset, timeout_s=1.0)

    assert asyncio.run(ask(0)) and asyncio.run(ask(2))
    assert not asyncio.run(ask(3)) and not asyncio.run(ask(500))
