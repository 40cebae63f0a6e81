"""The ``dead_letters`` table: bad input kept with the reason it failed.

One row per item (see :func:`storage.repository.insert_dead_letter` for the columns). Consumed
Kafka records are identified by (topic, partition, offset): a batch delivered again does not
store its dead letters twice (:func:`insert_new_dead_letters`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from finsent.storage.repository import insert_dead_letter
from finsent.storage.schema import DeadLetter

__all__ = ["DeadLetterRepository", "insert_new_dead_letters"]


def insert_new_dead_letters(conn: Connection, *, stage: str, letters: Sequence[Mapping[str, Any]]) -> int:
    """Insert consumed records' dead letters, skipping (source, partition, offset) already kept.

    Args:
        conn: A connection inside the caller's transaction.
        stage: ``dead_letters.stage`` of the rows.
        letters: Keyword arguments of :func:`insert_dead_letter` (``stage`` left out), each with
            ``source`` (the topic), ``partition`` and ``offset``.

    Returns:
        How many rows were inserted.
    """
    table = DeadLetter.__table__
    offsets = [letter["offset"] for letter in letters]
    known = {
        (r.source, r.partition, r.offset)
        for r in conn.execute(
            select(table.c.source, table.c.partition, table.c.offset).where(
                table.c.stage == stage, table.c.offset.in_(offsets)
            )
        )
    }
    count = 0
    for letter in letters:
        where = (letter["source"], letter["partition"], letter["offset"])
        if where in known:
            continue
        insert_dead_letter(conn, stage=stage, **letter)
        known.add(where)
        count += 1
    return count


class DeadLetterRepository:
    """Writes dead letters of one stage, one transaction per call.

    Args:
        engine: Engine on the finsent database.
        stage: ``dead_letters.stage`` of the rows (``ingest``, ``stream`` ...).
    """

    def __init__(self, engine: Engine, *, stage: str) -> None:
        self.engine = engine
        self.stage = stage

    def record(self, letters: Sequence[Mapping[str, Any]]) -> None:
        """Insert one row per letter (keyword arguments of :func:`insert_dead_letter`, no ``stage``)."""
        if not letters:
            return
        with self.engine.begin() as conn:
            for letter in letters:
                insert_dead_letter(conn, stage=self.stage, **letter)
