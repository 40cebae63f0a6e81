"""The alerting service follows the real scored topic and evaluates windows as they close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer

from finsent.alerts.stream_driver import ScoredWatermark

pytestmark = pytest.mark.integration


def test_watermark_follows_records_published_to_the_broker(
    embedded_stack: object, topic_factory: Callable[..., str], scored_record: Callable[..., bytes]
) -> None:
    bootstrap = embedded_stack.kafka_bootstrap  # type: ignore[attr-defined]
    topic = topic_factory()
    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    seen: list[datetime] = []

    async def scenario() -> None:
        stop = asyncio.Event()

        async def on_watermark(mark: datetime) -> None:
            seen.append(mark)
            stop.set()

        clock = ScoredWatermark(lateness=timedelta(seconds=30))
        task = asyncio.create_task(clock.follow(bootstrap, topic, stop, on_watermark))
        await asyncio.sleep(1)  # the consumer (no group) starts at the topic's end
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        try:
            # The consumer starts at the end of the topic once it has its partitions, which can
            # take longer than the sleep on a busy machine: send the batch again until it is seen.
            async with asyncio.timeout(30):
                while not stop.is_set():
                    for minutes in (10, 5, 0):
                        producer.send(topic, scored_record(newest - timedelta(minutes=minutes)))
                    producer.send(topic, b"garbage")  # ignored, does not stop the clock
                    producer.flush(10)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 3)
        finally:
            producer.close()
        await task

    asyncio.run(scenario())
    assert seen and seen[-1] <= newest - timedelta(seconds=30)
    assert seen[-1] >= newest - timedelta(minutes=5, seconds=30)
