"""The scoring agent: raw articles in micro-batches -> :class:`stream.pipeline.ScoringPipeline`.

Three stages per agent instance: the agent loop takes a batch (``noack_take``) and scores it
(``prepare``, on the inference thread), then hands it to a store task (``store``: one PostgreSQL
transaction), which hands it to a publish task that publishes its scored records and acknowledges
its events (``publish``), each in order. So batch N+2 is scored while N+1 is written and N is
published: the broker round trip is off the database's critical path, and the batch window of the
next batch runs while the previous ones are stored. Each hand-off queue holds one batch: a slow
database or broker holds the agent, which holds Faust's buffer (back-pressure).

Offsets: every event is acknowledged only after its batch was stored and published. Faust commits
the highest *contiguous* acknowledged offset of each partition, so an offset is never committed
before its article is in PostgreSQL, whatever the commit timer does. A batch that fails for a
reason other than bad data stops the worker (non-zero exit) without acknowledging it: its
messages are re-delivered to the restarted worker or to another member of the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from finsent.stream.messages import InboundMessage
from finsent.stream.pipeline import PreparedBatch, ScoringPipeline, StoredBatch

__all__ = ["AGENT_NAME", "inbound", "register_scoring_agent"]

log = logging.getLogger(__name__)

AGENT_NAME = "finsent.stream.agents.scoring.score_articles"

_Handoff = tuple[list[Any], list[InboundMessage], PreparedBatch]
_Stored = tuple[list[Any], list[InboundMessage], StoredBatch]


def inbound(event: Any) -> InboundMessage:
    """The :class:`InboundMessage` of a Faust event (raw key and value bytes)."""
    message = event.message
    return InboundMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
    )


def register_scoring_agent(
    app: Any,
    source: Any,
    pipeline: ScoringPipeline,
    *,
    batch_size: int,
    batch_window_s: float,
    concurrency: int = 1,
    on_batch: Callable[[Sequence[InboundMessage]], None] | None = None,
) -> Any:
    """Declare the scoring agent on ``app`` consuming ``source``.

    Args:
        app: the Faust app.
        source: the raw-articles Faust topic (raw serializers).
        pipeline: processes each batch.
        batch_size: most messages per batch.
        batch_window_s: longest wait to fill a batch.
        concurrency: agent instances in this process (they share one inference thread).
        on_batch: called with each stored batch (lag bookkeeping).

    Returns:
        The Faust agent.
    """

    async def crash(exc: BaseException) -> None:
        # Nothing of the failed batch is acknowledged: it comes back after the restart.
        log.critical("batch failed; stopping the worker (nothing acknowledged)", exc_info=exc)
        await app.crash(exc)

    async def store_in_order(handoff: asyncio.Queue[_Handoff], stored: asyncio.Queue[_Stored]) -> None:
        while True:
            events, messages, prepared = await handoff.get()
            try:
                done = await pipeline.store(prepared)
            except Exception as exc:
                await crash(exc)
                raise
            await stored.put((events, messages, done))

    async def publish_in_order(stream: Any, stored: asyncio.Queue[_Stored]) -> None:
        while True:
            events, messages, done = await stored.get()
            try:
                await pipeline.publish(done)
            except Exception as exc:
                await crash(exc)
                raise
            for event in events:
                await stream.ack(event)
            if on_batch is not None:
                on_batch(messages)

    async def score_articles(stream: Any) -> None:
        handoff: asyncio.Queue[_Handoff] = asyncio.Queue(maxsize=1)
        stored: asyncio.Queue[_Stored] = asyncio.Queue(maxsize=1)
        stages = [
            asyncio.create_task(store_in_order(handoff, stored)),
            asyncio.create_task(publish_in_order(stream, stored)),
        ]
        try:
            async for events in stream.noack_take(batch_size, within=batch_window_s):
                messages = [inbound(e) for e in events]
                try:
                    prepared = await pipeline.prepare(messages)
                except Exception as exc:
                    await crash(exc)
                    raise
                await _put_unless_dead(handoff, (list(events), messages, prepared), stages)
        finally:
            for task in stages:
                task.cancel()
            for task in stages:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    score_articles.__name__ = AGENT_NAME.rsplit(".", 1)[1]
    return app.agent(source, name=AGENT_NAME, concurrency=concurrency)(score_articles)


async def _put_unless_dead(
    queue: asyncio.Queue[_Handoff], item: _Handoff, stages: Sequence[asyncio.Task[None]]
) -> None:
    """Queue ``item`` for the store stage; re-raise a stage's error if one died meanwhile."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, *stages}, return_when=asyncio.FIRST_COMPLETED)
    for task in stages:
        if task.done():
            put.cancel()
            task.result()  # raises the stage's exception
            raise RuntimeError("a commit stage stopped")
