"""kafka-python producers and aiokafka consumer groups against the real broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from kafka import KafkaProducer

from finsent.core.records import ArticleRecord


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=10)
    finally:
        producer.close(timeout=5)


async def _consume(bootstrap: str, topic: str, group: str, want: int, timeout_s: float = 30.0) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=10_000,
        # The broker holds a join for half the session timeout (Tansu: 5 s at aiokafka's 10 s
        # default) waiting for other members; a 2 s session keeps each join to about 1 s.
        session_timeout_ms=2_000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    got: list[bytes] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(got) < want:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    got.extend(m.value for m in messages if m.value is not None)
            await consumer.commit()
    finally:
        await consumer.stop()
    return got


def test_group_consumer_reads_every_record_produced(
    embedded_stack, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=3)
    records = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(30)]
    _produce(embedded_stack.kafka_bootstrap, topic, records)

    got = asyncio.run(_consume(embedded_stack.kafka_bootstrap, topic, f"g-{uuid.uuid4().hex}", 30))

    assert sorted(got) == sorted(v for _, v in records)


def test_committed_group_offsets_are_not_read_again(
    embedded_stack, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory()
    group = f"g-{uuid.uuid4().hex}"
    _produce(embedded_stack.kafka_bootstrap, topic, [(b"a", b"first")])
    assert asyncio.run(_consume(embedded_stack.kafka_bootstrap, topic, group, 1)) == [b"first"]

    _produce(embedded_stack.kafka_bootstrap, topic, [(b"b", b"second")])
    assert asyncio.run(_consume(embedded_stack.kafka_bootstrap, topic, group, 1)) == [b"second"]


def test_record_schema_round_trips_through_the_broker(
    embedded_stack, topic_factory: Callable[..., str], article_record: ArticleRecord
) -> None:
    topic = topic_factory()
    _produce(embedded_stack.kafka_bootstrap, topic, [(article_record.id.encode(), article_record.to_bytes())])

    (raw,) = asyncio.run(_consume(embedded_stack.kafka_bootstrap, topic, f"g-{uuid.uuid4().hex}", 1))

    assert ArticleRecord.from_bytes(raw) == article_record
