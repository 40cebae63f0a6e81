"""The scoring agent: raw articles in micro-batches -> :class:`stream.pipeline.ScoringPipeline`.

Two stages per agent instance: the agent loop takes a batch (``noack_take``) and scores it
(``prepare``, on the inference thread), then hands it to a committer task that stores it,
publishes it and acknowledges its events (``commit``), in order. So batch N+1 is scored while
batch N is written, and the batch window of N+1 runs while N is being stored. The hand-off queue
holds one batch: a slow database holds the agent, which holds Faust's buffer (back-pressure).

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
from finsent.stream.pipeline import PreparedBatch, ScoringPipeline

__all__ = ["AGENT_NAME", "inbound", "register_scoring_agent"]

log = logging.getLogger(__name__)

AGENT_NAME = "finsent.stream.agents.scoring.score_articles"

_Handoff = tuple[list[Any], list[InboundMessage], PreparedBatch]


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

    async def commit_in_order(stream: Any, handoff: asyncio.Queue[_Handoff]) -> None:
        while True:
            events, messages, prepared = await handoff.get()
            try:
                await pipeline.commit(prepared)
            except Exception as exc:
                await crash(exc)
                raise
            for event in events:
                await stream.ack(event)
            if on_batch is not None:
                on_batch(messages)

    async def score_articles(stream: Any) -> None:
        handoff: asyncio.Queue[_Handoff] = asyncio.Queue(maxsize=1)
        committer = asyncio.create_task(commit_in_order(stream, handoff))
        try:
            async for events in stream.noack_take(batch_size, within=batch_window_s):
                messages = [inbound(e) for e in events]
                try:
                    prepared = await pipeline.prepare(messages)
                except Exception as exc:
                    await crash(exc)
                    raise
                await _put_unless_dead(handoff, (list(events), messages, prepared), committer)
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await committer

    score_articles.__name__ = AGENT_NAME.rsplit(".", 1)[1]
    return app.agent(source, name=AGENT_NAME, concurrency=concurrency)(score_articles)


async def _put_unless_dead(
    queue: asyncio.Queue[_Handoff], item: _Handoff, committer: asyncio.Task[None]
) -> None:
    """Queue ``item`` for the committer; re-raise the committer's error if it died meanwhile."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, committer}, return_when=asyncio.FIRST_COMPLETED)
    if committer.done():
        put.cancel()
        committer.result()  # raises the committer's exception
        raise RuntimeError("the committer stopped")
