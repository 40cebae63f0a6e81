"""PostgreSQL session advisory locks: one holder at a time, across processes and machines.

The lock belongs to one database session: if the holder dies, PostgreSQL releases it with the
connection, so a crash never leaves it taken.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from sqlalchemy import Engine, text

from finsent.storage.exceptions import translate_errors

__all__ = ["advisory_lock", "advisory_lock_key"]


def advisory_lock_key(name: str) -> int:
    """A stable 63-bit lock key for ``name`` (PostgreSQL keys are signed 64-bit integers)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


@contextlib.contextmanager
def advisory_lock(engine: Engine, key: int) -> Iterator[bool]:
    """Try to take the session advisory lock ``key`` for the block, without waiting.

    Yields:
        True while held; False (holding nothing) when another session holds it.
    """
    with translate_errors("taking an advisory lock"):
        conn = engine.connect()
    with conn:
        with translate_errors("taking an advisory lock"):
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            with translate_errors("releasing an advisory lock"):
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
