"""Field mapping of JSON/CSV records to raw items (shared by the JSON-API and file sources)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from finsent.ingest.config import FieldMap
from finsent.ingest.exceptions import BadItemError
from finsent.ingest.items import RawItem

__all__ = ["dig", "record_to_item"]

_MISSING = object()


def dig(data: Any, path: str) -> Any:
    """The value at a dotted path (``"data.items"``, ``"a.0.b"``); None when absent."""
    if not path:
        return data
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return None
        if current is _MISSING:
            return None
    return current


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)[:10_000]


def _tickers(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.replace(";", ",").replace("|", ",").split(",")
    elif isinstance(value, list):
        parts = [
            p if isinstance(p, str) else _text(dig(p, "ticker") or dig(p, "symbol")) or "" for p in value
        ]
    else:
        return ()
    return tuple(p.strip().upper() for p in parts if p and p.strip() and len(p.strip()) <= 16)


def record_to_item(
    record: Any,
    fields: FieldMap,
    *,
    source_id: str,
    fetched_at: datetime,
    base_url: str | None = None,
    default_tickers: tuple[str, ...] = (),
) -> RawItem:
    """Map one JSON object / CSV row to a raw item.

    Raises:
        BadItemError: the record is not an object, or has no title and no body.
    """
    if not isinstance(record, Mapping):
        raise BadItemError(f"record is a {type(record).__name__}, not an object")
    title = _text(dig(record, fields.title))
    body = _text(dig(record, fields.body)) if fields.body else None
    if not (title and title.strip()) and not (body and body.strip()):
        raise BadItemError(f"record has no {fields.title!r} (title) and no {fields.body!r} (body)")
    published = dig(record, fields.published_at) if fields.published_at else None
    return RawItem(
        source_id=source_id,
        title=title or "",
        body=body or "",
        url=_text(dig(record, fields.url)) if fields.url else None,
        published=published if isinstance(published, str | int | float) else None,
        item_id=_text(dig(record, fields.id)) if fields.id else None,
        tickers=default_tickers + (_tickers(dig(record, fields.tickers)) if fields.tickers else ()),
        base_url=base_url,
        fetched_at=fetched_at,
    )
