"""Publication times as sources give them, parsed to aware UTC datetimes."""

from __future__ import annotations

import calendar
import math
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["parse_time", "published_or_estimated"]

_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=1)
_NUMERIC = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def _from_epoch(value: float) -> datetime | None:
    if not math.isfinite(value):
        return None
    if value > 1e11:  # milliseconds (1e11 s is the year 5138)
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_string(text: str) -> datetime | None:
    text = text.strip()
    if not text or len(text) > 100:
        return None
    if _NUMERIC.match(text):
        return _from_epoch(float(text))
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def parse_time(value: object) -> datetime | None:
    """Parse a publication time to an aware UTC datetime.

    Accepts datetimes (naive = UTC), ``time.struct_time`` in UTC (feedparser), epoch seconds or
    milliseconds, ISO 8601 and RFC 2822 strings.

    Returns:
        The time in UTC, or None when the value cannot be read.
    """
    parsed: datetime | None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, time.struct_time):
        try:
            parsed = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, int | float):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str):
        parsed = _from_string(value)
    else:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def published_or_estimated(value: object, fetched_at: datetime) -> tuple[datetime, bool]:
    """The publication time, or the fetch time flagged as estimated when it is missing or absurd.

    A time before 1990 or more than a day after the fetch is treated as missing.

    Returns:
        ``(published_at, estimated)``.
    """
    parsed = parse_time(value)
    if parsed is None or parsed < _EARLIEST or parsed > fetched_at + _FUTURE_SLACK:
        return fetched_at, True
    return parsed, False
