"""The scoring agent's three stages: events are acknowledged only after their batch was stored AND
published, in order; a failing stage acknowledges nothing of its batch and crashes the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from finsent.stream.agents.scoring import register_scoring_agent


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None


@dataclass
class Event:
    message: Msg


class FakeStream:
    def __init__(self, batches: list[list[int]]) -> None:
        self.batches = batches
        self.acked: list[int] = []

    async def noack_take(self, n: int, within: float) -> AsyncIterator[list[Event]]:
        for offsets in self.batches:
            yield [Event(Msg("raw", 0, o)) for o in offsets]
        await asyncio.sleep(0.3)  # let the stages drain before the agent returns

    async def ack(self, event: Event) -> None:
        self.acked.append(event.message.offset)


class FakeApp:
    def __init__(self) -> None:
        self.crashed: list[BaseException] = []
        self.fn: Any = None

    def agent(self, source: Any, name: str, concurrency: int) -> Any:
        def register(fn: Any) -> Any:
            self.fn = fn
            return fn

        return register

    async def crash(self, exc: BaseException) -> None:
        self.crashed.append(exc)


class RecordingPipeline:
    """Logs every stage call; the store of a batch is slower than the next prepare (overlap)."""

    def __init__(self, stream: FakeStream, fail_publish_of: int | None = None) -> None:
        self.stream = stream
        self.log: list[tuple[str, int, tuple[int, ...]]] = []
        self.fail_publish_of = fail_publish_of

    async def prepare(self, messages: Sequence[Msg]) -> int:
        first = messages[0].offset
        self.log.append(("prepare", first, tuple(self.stream.acked)))
        return first

    async def store(self, first: int) -> int:
        await asyncio.sleep(0.02)
        self.log.append(("store", first, tuple(self.stream.acked)))
        return first

    async def publish(self, first: int) -> None:
        await asyncio.sleep(0.01)
        if first == self.fail_publish_of:
            raise RuntimeError("broker gone")
        self.log.append(("publish", first, tuple(self.stream.acked)))


def _run(pipeline_factory: Any, batches: list[list[int]]) -> tuple[FakeApp, FakeStream, Any]:
    app, stream = FakeApp(), FakeStream(batches)
    pipeline = pipeline_factory(stream)
    register_scoring_agent(app, None, pipeline, batch_size=2, batch_window_s=0.1)

    async def go() -> None:
        with contextlib.suppress(RuntimeError):
            await app.fn(stream)

    asyncio.run(go())
    return app, stream, pipeline


def test_events_are_acked_in_order_only_after_their_batch_is_stored_and_published() -> None:
    app, stream, pipeline = _run(RecordingPipeline, [[0, 1], [2, 3], [4, 5]])
    assert stream.acked == [0, 1, 2, 3, 4, 5] and app.crashed == []
    order = [(stage, first) for stage, first, _ in pipeline.log]
    for first in (0, 2, 4):
        assert (
            order.index(("prepare", first)) < order.index(("store", first)) < order.index(("publish", first))
        )
    for stage, first, acked_then in pipeline.log:
        assert not set(acked_then) & {first, first + 1}, (stage, first, acked_then)
    # stages overlap: batch 2 is prepared before batch 0 is published
    assert order.index(("prepare", 2)) < order.index(("publish", 0))


def test_a_failed_publish_acks_nothing_of_its_batch_or_later_ones_and_crashes() -> None:
    app, stream, _ = _run(lambda s: RecordingPipeline(s, fail_publish_of=2), [[0, 1], [2, 3], [4, 5]])
    assert stream.acked == [0, 1]
    assert [str(e) for e in app.crashed] == ["broker gone"]
