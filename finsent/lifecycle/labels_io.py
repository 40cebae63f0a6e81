"""Analysts' labels in and out: validation of one label, CSV / JSONL label files.

A label says which topic and/or sentiment a text (or a stored article) has, who said so and
when. :func:`validate_label` checks one label given as a mapping (the Python API the HTTP API and
the importer share); :func:`read_label_file` reads a whole file, keeping every good row and
reporting every bad one with its line number -- a bad row never stops the import nor is it stored
half-right.

File columns (CSV header or JSON keys; extra columns are ignored, so a filled-in
``finsent labels queue --out`` file imports as is):

* ``text`` -- the labeled text; may be left out when ``article_id`` is given (the article's
  title and lead are labeled then, see :func:`models.compose_text`);
* ``article_id`` -- optional id of a stored article;
* ``topic`` -- a topic id (``0``..``19``) or name (``Earnings``);
* ``sentiment`` -- ``negative`` / ``neutral`` / ``positive`` (or ``bearish`` / ``bullish``...);
* ``labeled_by`` -- who labeled it (default: the importer's ``default_by``);
* ``labeled_at`` -- ISO-8601 time (default: the time of the import).

At least one of ``topic`` and ``sentiment`` must be given.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from finsent.lifecycle.exceptions import LabelError
from finsent.models.data import BadRow
from finsent.models.exceptions import DataFormatError
from finsent.models.labels import SENTIMENT_LABELS, sentiment_index, topic_index

__all__ = [
    "MAX_TEXT_CHARS",
    "LabelImport",
    "LabelRow",
    "read_label_file",
    "validate_label",
]

#: Longest text a label may carry (the HTTP API applies the same limit).
MAX_TEXT_CHARS = 10_000
_MAX_ID_CHARS = 64
_MAX_BY_CHARS = 128


@dataclass(frozen=True)
class LabelRow:
    """One validated label, ready to store (``text`` may be None only with an ``article_id``)."""

    text: str | None
    topic: int | None
    sentiment: str | None
    labeled_by: str
    article_id: str | None = None
    labeled_at: datetime | None = None
    line: int = 0

    def as_row(self, origin: str) -> dict[str, Any]:
        """The ``labels`` table columns of this label."""
        row: dict[str, Any] = {
            "article_id": self.article_id,
            "text": self.text,
            "topic": self.topic,
            "sentiment": self.sentiment,
            "labeled_by": self.labeled_by,
            "origin": origin,
        }
        if self.labeled_at is not None:
            row["labeled_at"] = self.labeled_at
        return row


@dataclass
class LabelImport:
    """The labels read from one file and the rows that were rejected."""

    source: str
    rows: list[LabelRow] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)

    def report(self) -> str:
        """One line per rejected row (``file:line: reason``)."""
        return "\n".join(str(b) for b in self.bad_rows)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(raw: object) -> str | None:
    if _blank(raw):
        return None
    if not isinstance(raw, str):
        raise LabelError("text must be a string")
    text = raw.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise LabelError(f"text longer than {MAX_TEXT_CHARS} characters")
    return text


def _topic(raw: object) -> int | None:
    if _blank(raw):
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise LabelError(f"unknown topic {raw!r}")
    idx = topic_index(str(raw))
    if idx is None:
        raise LabelError(f"unknown topic {str(raw)[:60]!r} (an id 0-19 or a topic name)")
    return idx


def _sentiment(raw: object) -> str | None:
    if _blank(raw):
        return None
    idx = sentiment_index(raw) if isinstance(raw, str) else None
    if idx is None:
        raise LabelError(f"unknown sentiment {str(raw)[:60]!r} (negative, neutral or positive)")
    return SENTIMENT_LABELS[idx]


def _short(raw: object, name: str, limit: int) -> str | None:
    if _blank(raw):
        return None
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise LabelError(f"{name} must be a string")
    value = str(raw).strip()
    if len(value) > limit or any(ord(c) < 32 for c in value):
        raise LabelError(f"{name} must be at most {limit} printable characters")
    return value


def _when(raw: object) -> datetime | None:
    if _blank(raw):
        return None
    if not isinstance(raw, str):
        raise LabelError("labeled_at must be an ISO-8601 string")
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LabelError(f"labeled_at {raw[:40]!r} is not an ISO-8601 time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def validate_label(data: Mapping[str, Any], *, default_by: str | None = None, line: int = 0) -> LabelRow:
    """Check one label and return it in canonical form (topic id, sentiment name, UTC time).

    Args:
        data: Keys ``text``, ``article_id``, ``topic``, ``sentiment``, ``labeled_by``,
            ``labeled_at`` (all optional individually; see the module docstring).
        default_by: Who labeled it when ``labeled_by`` is missing.
        line: Line number recorded with the label (file imports).

    Returns:
        The validated label.

    Raises:
        LabelError: The label is unusable; the message says why.
    """
    topic = _topic(data.get("topic"))
    sentiment = _sentiment(data.get("sentiment"))
    if topic is None and sentiment is None:
        raise LabelError("no topic and no sentiment: nothing to learn")
    text = _text(data.get("text"))
    article_id = _short(data.get("article_id"), "article_id", _MAX_ID_CHARS)
    if text is None and article_id is None:
        raise LabelError("empty text and no article_id")
    by = _short(data.get("labeled_by"), "labeled_by", _MAX_BY_CHARS) or _short(
        default_by, "labeled_by", _MAX_BY_CHARS
    )
    if by is None:
        raise LabelError("missing labeled_by (who labeled it)")
    return LabelRow(
        text=text,
        topic=topic,
        sentiment=sentiment,
        labeled_by=by,
        article_id=article_id,
        labeled_at=_when(data.get("labeled_at")),
        line=line,
    )


def _decode(raw: bytes) -> str:
    # surrogateescape keeps undecodable bytes visible, so only the rows holding them are rejected.
    return raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")


def _has_bad_bytes(values: Mapping[str, Any]) -> bool:
    return any(isinstance(v, str) and any(0xDC80 <= ord(c) <= 0xDCFF for c in v) for v in values.values())


def _csv_records(content: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DataFormatError(f"unreadable CSV header: {exc}") from None
    if header is None:
        return
    names = [h.strip().lower() for h in header]
    if not {"text", "article_id"} & set(names) or not {"topic", "sentiment"} & set(names):
        raise DataFormatError(
            f"CSV header must name text (or article_id) and topic and/or sentiment columns, got {header[:8]}"
        )
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"unreadable CSV row ({exc})"
            start = reader.line_num + 1
            continue
        if row and any(cell.strip() for cell in row):
            if len(row) > len(names):
                yield start, f"{len(row)} fields, the header has {len(names)}"
            else:
                yield start, dict(zip(names, row, strict=False))
        start = reader.line_num + 1


def _jsonl_records(content: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    for line_no, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            yield line_no, f"invalid JSON ({reason})"
            continue
        if not isinstance(obj, dict):
            yield line_no, "not a JSON object"
            continue
        yield line_no, obj


def read_label_file(
    path: str | Path,
    *,
    fmt: Literal["auto", "csv", "jsonl"] = "auto",
    default_by: str | None = None,
) -> LabelImport:
    """Read and validate a CSV or JSON-lines label file.

    Args:
        path: The file (UTF-8; a BOM is allowed).
        fmt: ``csv``, ``jsonl`` or ``auto`` (``.jsonl`` / ``.ndjson`` / ``.json`` -> JSON lines).
        default_by: Who labeled rows without a ``labeled_by`` value.

    Returns:
        Every valid row and, for every invalid one, its line number and the reason.

    Raises:
        DataFormatError: The file is missing or not a label file at all (no usable CSV header).
    """
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"{p}: no such file")
    if fmt == "auto":
        fmt = "jsonl" if p.suffix.lower() in {".jsonl", ".ndjson", ".json"} else "csv"
    content = _decode(p.read_bytes())
    result = LabelImport(source=str(p))
    try:
        records = list(_csv_records(content) if fmt == "csv" else _jsonl_records(content))
    except DataFormatError as exc:
        raise DataFormatError(f"{p}: {exc}") from None
    for line, record in records:
        if isinstance(record, str):
            result.bad_rows.append(BadRow(str(p), line, record))
            continue
        if _has_bad_bytes(record):
            result.bad_rows.append(BadRow(str(p), line, "not valid UTF-8"))
            continue
        try:
            result.rows.append(validate_label(record, default_by=default_by, line=line))
        except LabelError as exc:
            result.bad_rows.append(BadRow(str(p), line, str(exc)))
    return result
