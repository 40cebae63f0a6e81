"""The scoring agent: raw articles in micro-batches -> :class:`stream.pipeline.ScoringPipeline`.

Offsets: the batch is taken with ``noack_take`` and every event is acknowledged only after the
pipeline stored (and published) the batch. Faust commits the highest *contiguous* acknowledged
offset of each partition, so an offset is never committed before its article is in PostgreSQL,
whatever the commit timer does. A batch that fails for a reason other than bad data stops the
worker (non-zero exit) without acknowledging anything: its messages are re-delivered to the
restarted worker or to another member of the group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from stream.messages import InboundMessage
from stream.pipeline import ScoringPipeline

__all__ = ["AGENT_NAME", "inbound", "register_scoring_agent"]

log = logging.getLogger(__name__)

AGENT_NAME = "stream.agents.scoring.score_articles"


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

    async def score_articles(stream: Any) -> None:
        async for events in stream.noack_take(batch_size, within=batch_window_s):
            messages = [inbound(e) for e in events]
            try:
                await pipeline.process(messages)
            except Exception as exc:
                # Not acknowledged: the batch comes back after the restart.
                log.critical("batch failed; stopping the worker (nothing acknowledged)", exc_info=True)
                await app.crash(exc)
                raise
            for event in events:
                await stream.ack(event)
            if on_batch is not None:
                on_batch(messages)

    score_articles.__name__ = AGENT_NAME.rsplit(".", 1)[1]
    return app.agent(source, name=AGENT_NAME, concurrency=concurrency)(score_articles)
