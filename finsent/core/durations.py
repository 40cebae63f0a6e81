"""finsent's one duration syntax: ``500ms``, ``90s``, ``5m``, ``1h``, ``2d``, ``1w``.

Every duration a person writes (settings, rule files, source files, CLI options) goes through
:func:`parse_duration`. A bare number is rejected everywhere: ``8`` could mean seconds or
minutes, and the two readings once disagreed between the CLI and the rule files.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Duration", "format_duration", "parse_duration"]

_DURATION_RE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_EXAMPLES = "90s, 5m, 1h or 7d"


def parse_duration(value: Any) -> timedelta:
    """Read a duration written as a number and a unit.

    Args:
        value: a :class:`~datetime.timedelta` (returned as it is) or text like ``"15m"``.

    Returns:
        The duration.

    Raises:
        ValueError: not a duration; a bare number is rejected (the message says which unit to add).
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a duration like {_EXAMPLES}, got {value!r}")
    text = str(value)
    match = _DURATION_RE.match(text)
    if match:
        try:
            return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])
        except OverflowError:  # beyond timedelta's 999,999,999 days
            raise ValueError(f"{text.strip()!r} is too long a duration") from None
    if re.fullmatch(r"\s*[+-]?\d+(?:\.\d+)?\s*", text):
        raise ValueError(f"{text.strip()!r} has no unit: write {text.strip()}s or {text.strip()}m")
    raise ValueError(f"expected a duration like {_EXAMPLES}, got {value!r}")


def format_duration(value: timedelta) -> str:
    """The shortest exact text :func:`parse_duration` reads back (``"15m"``, ``"90s"``, ``"1h"``)."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


#: A pydantic field type: written as ``"5m"``, held as a timedelta, shown as ``"5m"`` again.
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
