"""Fixtures of the ingest integration tests: a local news server and an aiokafka group reader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from ingest_news_server import NewsServer


@pytest.fixture
def news_server() -> Iterator[NewsServer]:
    """A fresh local news server for one test."""
    server = NewsServer()
    try:
        yield server
    finally:
        server.close()


async def _consume(bootstrap: str, topic: str, want: int, timeout_s: float, settle_s: float) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,  # every partition from its start; a group would only add a join wait
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=10_000,
    )
    await consumer.start()
    got: list[Any] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(got) < want:
                batch = await consumer.getmany(timeout_ms=300)
                for messages in batch.values():
                    got.extend(messages)
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:  # anything beyond `want` would be a duplicate
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                got.extend(messages)
    finally:
        await consumer.stop()
    return got


@pytest.fixture
def consume() -> Callable[..., list[Any]]:
    """``consume(bootstrap, topic, want, timeout_s=30, settle_s=1.0)``: messages read by an aiokafka group."""

    def run(
        bootstrap: str, topic: str, want: int, timeout_s: float = 30.0, settle_s: float = 1.0
    ) -> list[Any]:
        return asyncio.run(_consume(bootstrap, topic, want, timeout_s, settle_s))

    return run
