"""Committed offsets past a partition's end (a recreated topic): seek back to its start.

When a topic is deleted and created again while the consumer group keeps its committed offsets,
those offsets point past the new partitions' end. Kafka answers such a fetch with
OFFSET_OUT_OF_RANGE and the client applies ``auto.offset.reset`` (``earliest`` for the workers);
some brokers (Tansu, the embedded one) answer with an empty fetch instead, and the worker waits
there forever: every new article on that partition would be skipped until the partition grew
past the old offset. The guard checks each assigned partition's position against its end
offset and seeks to the beginning when the position is beyond it (re-reading costs nothing:
the sink is idempotent). A recreated topic that already grew past the old offset cannot be told
from a normal one here; reconciliation (:mod:`finsent.ingest.reconcile`) sends those articles
again after its grace period.

The reported end alone is not enough: Tansu's ListOffsets answers the last record batch's base
offset plus one, so a partition whose last write was a multi-record batch (every crawler poll,
every burst) reports an end behind records the worker has already read, and a quiet partition
stays like that. Resetting there re-read and re-scored the whole partition (minutes of stall at
the demo's pace, tens of seconds of publish -> row latency in the pipeline bench). So before it
resets, the guard asks the log itself (``holds``: a fetch of the record just before the position,
:func:`finsent.stream.kafka.log_holds`): a log that holds it is not past its end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["OffsetGuard"]

log = logging.getLogger(__name__)


class OffsetGuard:
    """Seeks partitions whose position stays past their end back to their start.

    A partition is reset only when two checks in a row find it at the same position past the
    same end: a recreated topic that nobody writes to stays exactly there, while on a live
    partition the end moves (Tansu can report an end a few offsets behind what a busy consumer
    has already fetched; resetting then would re-read the whole partition) or the position does.

    Args:
        topic: The topic to guard.
        holds: ``(partition, offset) -> bool``: whether the log holds the record at ``offset``;
            asked before a reset (None: trust the reported end).
    """

    def __init__(self, topic: str, holds: Callable[[Any, int], Awaitable[bool]] | None = None) -> None:
        self.topic = topic
        self._holds = holds
        self._suspect: dict[Any, tuple[int, int]] = {}
        self._held: dict[Any, int] = {}  # position whose record the log was seen to hold

    async def check(self, consumer: Any) -> list[tuple[Any, int, int]]:
        """One check of every assigned partition of the topic (``app.consumer``).

        Returns:
            ``(partition, old position, end offset)`` of every partition that was reset.
        """
        partitions = [tp for tp in consumer.assignment() if tp.topic == self.topic]
        positions = {tp: await consumer.position(tp) for tp in partitions}
        ends = await consumer.highwaters(*partitions) if partitions else {}
        suspect: dict[Any, tuple[int, int]] = {}
        candidates: list[tuple[Any, int, int]] = []
        for tp, position in positions.items():
            end = ends.get(tp)
            if position is None or end is None or position <= end:
                continue
            if self._held.get(tp) == position:
                continue  # the log was seen to hold this position's record: the end is understated
            if self._suspect.get(tp) != (position, end):
                suspect[tp] = (position, end)  # past the end now; reset if nothing moves by next time
                continue
            candidates.append((tp, position, end))
        # Ask the log about every candidate at once: an empty answer takes the probe's whole
        # timeout, and one check must not outlast the guard's interval.
        probe = self._holds
        held = [False] * len(candidates)
        if probe is not None and candidates:
            held = list(await asyncio.gather(*(probe(tp, pos - 1) for tp, pos, _ in candidates)))
        reset = []
        for (tp, position, end), holds in zip(candidates, held, strict=True):
            if holds:
                self._held[tp] = position
                log.debug(
                    "reported end behind the position, but the log holds the record before it",
                    extra={"topic": tp.topic, "partition": tp.partition, "position": position, "end": end},
                )
                continue
            await self._reset(consumer, tp)
            reset.append((tp, int(position), int(end)))
            log.warning(
                "committed offset past the partition's end (topic recreated?); reading it from the start",
                extra={"topic": tp.topic, "partition": tp.partition, "position": position, "end": end},
            )
        self._suspect = suspect
        return reset

    @staticmethod
    async def _reset(consumer: Any, tp: Any) -> None:
        start = (await consumer.earliest_offsets(tp)).get(tp) or 0
        # Faust drops acknowledgements below the offset it believes committed: forget it, or
        # nothing read after the seek would ever be committed.
        consumer._committed_offset[tp] = None
        await consumer.seek(tp, start)
