"""Dataset readers: CSV / JSONL with configurable columns and label maps, Twitter Financial News,
Financial PhraseBank. Bad rows are reported with their line numbers and skipped, never mislabeled.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from finsent.models.exceptions import DataFormatError
from finsent.models.labels import SENTIMENT_LABELS, TWITTER_SENTIMENT_MAP, sentiment_index, topic_index

__all__ = [
    "BadRow",
    "EntityLabel",
    "Example",
    "LoadResult",
    "Task",
    "data_fingerprint",
    "read_csv",
    "read_dataset",
    "read_jsonl",
    "read_phrasebank",
    "read_twitter_financial_news",
]

log = logging.getLogger(__name__)

Task = Literal["topic", "sentiment"]


@dataclass(frozen=True)
class EntityLabel:
    """The sentiment of one entity in a text: ``text[start:end]`` is its mention."""

    start: int
    end: int
    sentiment: int


@dataclass(frozen=True)
class Example:
    """One labeled text; a head's label is None when the example does not carry it.

    ``entities`` holds per-entity sentiment labels (entity-level data, e.g. FinEntity).
    """

    text: str
    topic: int | None = None
    sentiment: int | None = None
    entities: tuple[EntityLabel, ...] = ()

    def label(self, task: Task) -> int | None:
        """The label of ``task`` (index into its label set), or None."""
        return self.topic if task == "topic" else self.sentiment


@dataclass(frozen=True)
class BadRow:
    """A skipped row: where it was and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class LoadResult:
    """Examples read from one file and the rows skipped."""

    source: str
    task: Task
    examples: list[Example] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)

    def report(self) -> str:
        """One line per skipped row (empty string when none were skipped)."""
        return "\n".join(str(b) for b in self.bad_rows)


def _resolve(raw: object, task: Task, label_map: Mapping[str, str | int] | None) -> int | None:
    key = str(raw).strip()
    if label_map is not None:
        if key not in label_map:
            return None
        mapped = label_map[key]
        key = str(mapped)
    if task == "sentiment":
        if key.isascii() and key.isdigit() and label_map is not None:
            value = int(key)
            return value if 0 <= value < len(SENTIMENT_LABELS) else None
        return sentiment_index(key)
    return topic_index(key)


def _make(
    rows: Iterable[tuple[int, object, object]],
    source: str,
    task: Task,
    label_map: Mapping[str, str | int] | None,
) -> LoadResult:
    result = LoadResult(source=source, task=task)
    for line, text, raw_label in rows:
        text_s = text.strip() if isinstance(text, str) else ""
        if not text_s:
            result.bad_rows.append(BadRow(source, line, "empty text"))
            continue
        if raw_label is None or str(raw_label).strip() == "":
            result.bad_rows.append(BadRow(source, line, "missing label"))
            continue
        idx = _resolve(raw_label, task, label_map)
        if idx is None:
            result.bad_rows.append(BadRow(source, line, f"unknown {task} label {str(raw_label)!r}"))
            continue
        ex = Example(text_s, topic=idx) if task == "topic" else Example(text_s, sentiment=idx)
        result.examples.append(ex)
    for bad in result.bad_rows:
        log.warning("skipped row %s", bad)
    return result


def read_csv(
    path: str | Path,
    task: Task,
    *,
    text_column: str = "text",
    label_column: str = "label",
    label_map: Mapping[str, str | int] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> LoadResult:
    """Read a CSV file with a header row.

    Args:
        path: The file.
        task: Which head the labels belong to.
        text_column: Header of the text column.
        label_column: Header of the label column.
        label_map: Raw label -> label name or index of ``task`` (e.g. ``{"0": "negative"}``).
            Without it, labels must be names (sentiment, topic) or topic ids.
        encoding: File encoding.
        delimiter: Field separator.

    Returns:
        The examples and the skipped rows (with line numbers).

    Raises:
        DataFormatError: The file lacks a header with both columns.
    """
    p = Path(path)
    with p.open(encoding=encoding, newline="", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        if header is None or text_column not in header or label_column not in header:
            raise DataFormatError(f"{p}: header must contain {text_column!r} and {label_column!r}")
        ti, li = header.index(text_column), header.index(label_column)

        def rows() -> Iterator[tuple[int, object, object]]:
            for row in reader:
                if not row:
                    continue
                if len(row) <= max(ti, li):
                    yield reader.line_num, "", None
                    continue
                yield reader.line_num, row[ti], row[li]

        return _make(rows(), str(p), task, label_map)


def json_lines(path: Path, *, encoding: str = "utf-8") -> Iterator[tuple[int, Any, str]]:
    """Each non-blank line of a JSON-lines file as ``(line_no, obj, "")``, or
    ``(line_no, None, why)`` for a line that is not valid JSON (the caller reports it)."""
    with path.open(encoding=encoding, errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line), ""
            except json.JSONDecodeError as exc:
                yield line_no, None, f"invalid JSON ({exc.msg})"


def read_jsonl(
    path: str | Path,
    task: Task,
    *,
    text_field: str = "text",
    label_field: str = "label",
    label_map: Mapping[str, str | int] | None = None,
    encoding: str = "utf-8",
) -> LoadResult:
    """Read a JSON-lines file (one object per line); arguments as in :func:`read_csv`."""
    p = Path(path)
    result_rows: list[tuple[int, object, object]] = []
    bad: list[tuple[int, str]] = []
    for line_no, obj, why in json_lines(p, encoding=encoding):
        if why or not isinstance(obj, dict):
            bad.append((line_no, why or "not a JSON object"))
            continue
        result_rows.append((line_no, obj.get(text_field), obj.get(label_field)))
    result = _make(result_rows, str(p), task, label_map)
    result.bad_rows.extend(BadRow(str(p), n, r) for n, r in bad)
    result.bad_rows.sort(key=lambda b: b.line)
    return result


def read_twitter_financial_news(path: str | Path, task: Task) -> LoadResult:
    """Read a Twitter Financial News file (``text,label``; sentiment 0 Bearish 1 Bullish 2 Neutral)."""
    label_map: Mapping[str, str | int] | None = TWITTER_SENTIMENT_MAP if task == "sentiment" else None
    return read_csv(path, task, label_map=label_map)


def read_phrasebank(path: str | Path, *, encoding: str = "latin-1") -> LoadResult:
    """Read a Financial PhraseBank file: ``sentence@label`` lines, Latin-1 as distributed."""
    p = Path(path)
    rows: list[tuple[int, object, object]] = []
    with p.open(encoding=encoding, errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if "@" not in line:
                rows.append((line_no, line, None))
                continue
            sentence, label = line.rstrip("\r\n").rsplit("@", 1)
            rows.append((line_no, sentence, label))
    return _make(rows, str(p), "sentiment", None)


def read_dataset(
    path: str | Path,
    task: Task | None = None,
    *,
    fmt: Literal["auto", "csv", "jsonl", "phrasebank", "twitter"] = "auto",
    text_column: str = "text",
    label_column: str = "label",
    label_map: Mapping[str, str | int] | None = None,
) -> LoadResult:
    """Read a labeled file, guessing its format from the name and first line when ``fmt='auto'``.

    A ``.jsonl`` file is JSON lines; a file whose first line has ``@`` and no header is
    PhraseBank (sentiment); a ``text,label`` CSV under a ``topic``/``sentiment`` folder of the
    Twitter Financial News layout uses that corpus' label map; other CSVs use ``label_map``.

    Raises:
        DataFormatError: The format or the task cannot be determined.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFormatError(f"{p}: no such file")
    if fmt == "auto":
        fmt = _guess_format(p, label_map)
    if fmt == "phrasebank":
        return read_phrasebank(p)
    task = task or _guess_task(p)
    if fmt == "jsonl":
        return read_jsonl(p, task, text_field=text_column, label_field=label_column, label_map=label_map)
    if fmt == "twitter":
        return read_twitter_financial_news(p, task)
    return read_csv(p, task, text_column=text_column, label_column=label_column, label_map=label_map)


def _guess_format(
    p: Path, label_map: Mapping[str, str | int] | None
) -> Literal["csv", "jsonl", "phrasebank", "twitter"]:
    if p.suffix.lower() in {".jsonl", ".ndjson"}:
        return "jsonl"
    with p.open(encoding="latin-1") as fh:
        first = fh.readline()
    if "@" in first and "," not in first.split("@")[-1]:
        return "phrasebank"
    if label_map is None and first.strip() == "text,label" and p.parent.name in {"topic", "sentiment"}:
        return "twitter"
    return "csv"


def _guess_task(p: Path) -> Task:
    for part in reversed(p.parts):
        if part in ("topic", "sentiment"):
            return part  # type: ignore[return-value]  # narrowed by the membership test
    raise DataFormatError(f"{p}: cannot tell the task; pass task='topic' or 'sentiment'")


def data_fingerprint(examples: Iterable[Example]) -> str:
    """SHA-256 over the texts and labels, in order (same data -> same fingerprint)."""
    h = hashlib.sha256()
    for ex in examples:
        ents = "".join(f"\x1d{e.start},{e.end},{e.sentiment}" for e in ex.entities)
        h.update(f"{ex.text}\x1f{ex.topic}\x1f{ex.sentiment}{ents}\x1e".encode())
    return "sha256:" + h.hexdigest()
