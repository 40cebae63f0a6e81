"""The offset guard resets only a partition that is stuck past an end that does not move.

(The real broker case, a recreated topic, is covered end to end in tests/e2e/test_faults_e2e.py;
this pins the decision rule with a consumer stand-in that only reports positions and ends.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from finsent.stream.offset_guard import OffsetGuard


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class Reported:
    pos: int
    end: int
    seeks: list[int] = field(default_factory=list)
    _committed_offset: dict[Any, Any] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return {TP("raw", 0)}

    async def position(self, tp: TP) -> int:
        return self.pos

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        return {tp: self.end for tp in tps}

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: 0 for tp in tps}

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append(offset)


def _checks(
    consumer: Reported,
    moves: list[tuple[int, int]],
    log_end: int | None = None,
    probes: list[int] | None = None,
) -> list[int]:
    """Resets per check; with ``log_end`` the guard may ask a log holding every offset below it
    (each offset asked is appended to ``probes``)."""

    async def holds(tp: TP, offset: int) -> bool:
        if probes is not None:
            probes.append(offset)
        return log_end is not None and offset < log_end

    guard = OffsetGuard("raw", holds=holds if log_end is not None else None)
    resets = []
    for position, end in moves:
        consumer.pos, consumer.end = position, end
        resets.append(len(asyncio.run(guard.check(consumer))))
    return resets


def test_stuck_past_a_fixed_end_is_reset_on_the_second_check() -> None:
    consumer = Reported(pos=0, end=0)
    assert _checks(consumer, [(500, 20), (500, 20)]) == [0, 1]
    assert consumer.seeks == [0]


def test_a_busy_consumer_ahead_of_a_lagging_end_is_left_alone() -> None:
    # Position stays while a long batch runs, the end reported a few offsets behind but growing.
    consumer = Reported(pos=0, end=0)
    assert _checks(consumer, [(270, 265), (270, 268), (270, 269), (280, 285)]) == [0, 0, 0, 0]
    assert consumer.seeks == []


def test_a_consumer_moving_past_a_stale_end_is_left_alone() -> None:
    consumer = Reported(pos=0, end=0)
    assert _checks(consumer, [(300, 290), (310, 290), (320, 290)]) == [0, 0, 0]


def test_an_understated_end_of_a_log_that_holds_the_position_is_left_alone() -> None:
    # Tansu after a 3-record batch: the consumer read offsets 17-19 (position 20), the end says 18,
    # and nothing is written for a while. The log holds offset 19, so nothing is re-read.
    consumer, probes = Reported(pos=0, end=0), []
    assert _checks(consumer, [(20, 18)] * 5, log_end=20, probes=probes) == [0, 0, 0, 0, 0]
    assert consumer.seeks == []
    assert probes == [19]  # asked once: the answer holds while the position stays


def test_a_log_that_ends_before_the_position_is_reset_after_asking_it() -> None:
    # A recreated topic: committed offset 500, the new log has 20 records.
    consumer, probes = Reported(pos=0, end=0), []
    assert _checks(consumer, [(500, 20), (500, 20)], log_end=20, probes=probes) == [0, 1]
    assert consumer.seeks == [0]
    assert probes == [499]


@dataclass
class FourStuck(Reported):
    """Four partitions, each stuck past the end (a recreated topic)."""

    def assignment(self) -> set[TP]:
        return {TP("raw", p) for p in range(4)}


def test_the_log_is_asked_about_every_stuck_partition_at_once() -> None:
    # An empty probe takes its whole timeout (2 s against the real broker). Asked one after the
    # other, four would outlast the guard's 3 s interval; asked together, one check takes one timeout.
    consumer = FourStuck(pos=500, end=20)
    in_flight, most = 0, 0

    async def holds(tp: TP, offset: int) -> bool:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return False

    guard = OffsetGuard("raw", holds=holds)

    async def two_checks() -> list[int]:
        return [len(await guard.check(consumer)) for _ in range(2)]

    assert asyncio.run(two_checks()) == [0, 4]
    assert most == 4
    assert consumer.seeks == [0, 0, 0, 0]
