"""Minute buckets of the aggregate tables and the advisory locks that serialise their writers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTEGER

__all__ = ["ALL_TOPICS", "LOCK_NAMESPACE", "lock_buckets", "minute_bucket"]

#: ``agg_topic.topic`` of the row that counts every topic of a bucket.
ALL_TOPICS = -1
#: First key of the two-key advisory locks that serialise writers of one bucket.
LOCK_NAMESPACE = 0x66730A66  # "fs\nf": any constant no other finsent code uses

# Lock in ascending key order (the OFFSET 0 subquery keeps the sort before the lock calls), so
# two writers touching overlapping buckets cannot deadlock on each other.
_LOCK_SQL = text(
    "SELECT pg_advisory_xact_lock(:ns, k) FROM "
    "(SELECT k FROM unnest(:keys) AS t(k) ORDER BY k OFFSET 0) AS ordered"
).bindparams(bindparam("keys", type_=ARRAY(INTEGER)))


def minute_bucket(ts: datetime) -> datetime:
    """The UTC minute ``ts`` falls in (the aggregate bucket key).

    Raises:
        ValueError: ``ts`` has no time zone (an ambiguous instant cannot be bucketed).
    """
    if ts.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


def _lock_key(bucket: datetime) -> int:
    # Minutes since the epoch fit a 32-bit advisory-lock key until the year 6053.
    return int((bucket - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(minutes=1))


def lock_buckets(conn: Connection, buckets: Iterable[datetime]) -> None:
    """Take the transaction-scoped advisory locks of ``buckets`` (released at commit/rollback)."""
    keys = sorted({_lock_key(minute_bucket(b)) for b in buckets})
    if keys:
        conn.execute(_LOCK_SQL, {"ns": LOCK_NAMESPACE, "keys": keys})
