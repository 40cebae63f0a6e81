"""File replay: a CSV or JSONL corpus read as a source (backfills, demos, load tests)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from finsent.ingest.config import FieldMap, FileSourceConfig
from finsent.ingest.exceptions import BadItemError, SourceConfigError
from finsent.ingest.items import BadItem, PollResult, RawItem
from finsent.ingest.sources.base import PollContext
from finsent.ingest.sources.mapping import record_to_item

__all__ = ["FileSource", "detect_format", "iter_file_items"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # article bodies overflow the 128 KiB default


def detect_format(path: Path, declared: str = "auto") -> Literal["csv", "jsonl"]:
    """``csv`` or ``jsonl`` from the declared format or the file suffix."""
    if declared in ("csv", "jsonl"):
        return declared  # type: ignore[return-value]  # narrowed by the check
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    raise SourceConfigError(f"{path}: cannot tell CSV from JSONL by its suffix; set format")


def _records(path: Path, fmt: str) -> Iterator[tuple[int, object]]:
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        if fmt == "csv":
            dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
            for line, row in enumerate(csv.DictReader(handle, dialect=dialect), start=2):
                yield line, row
            return
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield line, json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield line, BadItemError(f"line {line}: not JSON: {exc}")


def iter_file_items(
    path: Path | str,
    *,
    source_id: str,
    fields: FieldMap | None = None,
    fmt: str = "auto",
    tickers: tuple[str, ...] = (),
    fetched_at: datetime | None = None,
) -> Iterator[RawItem | BadItem]:
    """Stream a CSV/JSONL corpus as raw items, yielding a :class:`BadItem` for each bad row.

    Raises:
        SourceConfigError: the file cannot be opened or its format is unknown.
    """
    path = Path(path)
    fields = fields or FieldMap()
    kind = detect_format(path, fmt)
    when = fetched_at or datetime.now(UTC)
    try:
        for line, record in _records(path, kind):
            key = f"{path.name}:{line}"
            if isinstance(record, BadItemError):
                yield BadItem(source_id, str(record), type(record).__name__, key)
                continue
            try:
                yield record_to_item(
                    record, fields, source_id=source_id, fetched_at=when, default_tickers=tickers
                )
            except BadItemError as exc:
                payload = json.dumps(record, default=str)[:65536].encode("utf-8", errors="replace")
                yield BadItem(source_id, f"line {line}: {exc}", type(exc).__name__, key, payload)
    except OSError as exc:
        raise SourceConfigError(f"cannot read {path}: {exc}") from None
    except csv.Error as exc:
        yield BadItem(source_id, f"{path}: CSV error, rest of file skipped: {exc}", "BadItemError", str(path))


class FileSource:
    """A corpus file read again whenever it changes (duplicates are dropped downstream)."""

    kind = "file"

    def __init__(self, config: FileSourceConfig, interval_s: float) -> None:
        self.config = config
        self.id = config.id
        self.interval_s = interval_s
        self._signature: tuple[float, int] | None = None

    def poll(self, ctx: PollContext) -> PollResult:
        """Read the file if it changed since the last poll."""
        try:
            stat = self.config.path.stat()
        except OSError as exc:
            raise SourceConfigError(f"source {self.id}: cannot read {self.config.path}: {exc}") from None
        signature = (stat.st_mtime, stat.st_size)
        if signature == self._signature:
            return PollResult(not_modified=1)
        result = PollResult(requests=1)
        for entry in iter_file_items(
            self.config.path,
            source_id=self.id,
            fields=self.config.fields,
            fmt=self.config.format,
            tickers=tuple(self.config.tickers),
            fetched_at=ctx.now,
        ):
            if isinstance(entry, RawItem):
                result.items.append(entry)
            else:
                result.bad.append(entry)
        self._signature = signature
        return result
