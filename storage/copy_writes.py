"""Bulk writes through ``COPY``: a batch's rows go to a temporary table in one stream, then into
the real table with one ``INSERT ... SELECT ... ON CONFLICT``.

For the stream sink's hot path (scores, entity and sentence scores): the multi-row ``INSERT`` of
:func:`~storage.repository.bulk_upsert` spends most of its time binding parameters in Python;
``COPY`` hands the rows to PostgreSQL as one text stream. Same semantics as ``bulk_upsert``
(idempotent on the conflict columns, last duplicate wins), same error translation.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection

from finsent.storage.exceptions import StorageDataError, StorageError, StorageUnavailableError
from finsent.storage.repository import dedupe_rows, table_of
from finsent.storage.schema import Base

__all__ = ["CopyBatch", "copy_text", "copy_upsert"]

_RETRYABLE_SQLSTATE = ("08", "40", "57", "53")


@contextlib.contextmanager
def _translate_driver_errors(what: str) -> Iterator[None]:
    # The COPY runs on the driver connection, so its errors are psycopg's, not SQLAlchemy's.
    try:
        yield
    except psycopg.Error as exc:
        sqlstate = exc.sqlstate or ""
        message = f"{what}: {str(exc).strip() or type(exc).__name__}"
        if sqlstate.startswith(_RETRYABLE_SQLSTATE) or (
            not sqlstate and isinstance(exc, psycopg.OperationalError)
        ):
            raise StorageUnavailableError(message) from exc
        if isinstance(exc, (psycopg.IntegrityError, psycopg.DataError)) or sqlstate.startswith(("22", "23")):
            raise StorageDataError(message) from exc
        raise StorageError(message) from exc


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _element(value: Any) -> str:
    # One element of an array literal (numbers or text; NULL elements are spelled NULL).
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return _field(value)


def _number(value: Any) -> str:
    number = float(value)
    if math.isfinite(number):
        return repr(number)
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _array(value: list[Any] | tuple[Any, ...]) -> str:
    if all(type(v) is float for v in value):  # the common case: probabilities
        return ("{" + ",".join(map(_number, value)) + "}").translate(_ESCAPES)
    return ("{" + ",".join(_element(v) for v in value) + "}").translate(_ESCAPES)


def _field(value: Any) -> str:
    """One value in COPY's text format (text and arrays escaped)."""
    kind = type(value)
    if kind is str:
        return value.translate(_ESCAPES)  # type: ignore[no-any-return]
    if kind is float:
        return _number(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise StorageDataError(f"timestamp without time zone: {value!r}")
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return _array(value)
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, numbers.Integral):  # numpy integers too
        return str(int(value))
    if isinstance(value, numbers.Real):  # numpy floats too
        return _number(value)
    item = getattr(value, "item", None)  # other numpy scalars (np.bool_): their Python value
    if callable(item) and not isinstance(value, (list, tuple, dict)):
        plain = item()
        if type(plain) in (bool, int, float, str):
            return _field(plain)
    raise StorageDataError(f"cannot COPY a value of type {type(value).__name__}")


def copy_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as the text-format payload of ``COPY ... FROM STDIN`` (one line per row).

    Raises:
        StorageDataError: a value cannot be sent (a naive timestamp, an unsupported type).
    """
    return "".join("\t".join(_field(row[c]) for c in columns) + "\n" for row in rows)


class CopyBatch:
    """``COPY`` writes of one transaction: the temporary tables of ``tables`` made ready (created
    if missing, emptied) in one round trip, then one :meth:`upsert` (or :meth:`insert_new`) per
    table and batch.

    Args:
        conn: a connection inside a transaction (the caller commits).
        tables: the ORM classes :meth:`upsert` will write.
        exclusive: the caller holds locks that keep every other writer away from the rows it
            replaces (the fold's bucket locks), so :meth:`insert_new` may ``COPY`` straight into
            the table after deleting them.
    """

    def __init__(self, conn: Connection, tables: Sequence[type[Base]], *, exclusive: bool = False) -> None:
        self._conn = conn
        self.exclusive = exclusive
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        self._raw: psycopg.Connection[Any] = raw
        self._dirty: set[str] = set()
        setup = "; ".join(
            f'CREATE TEMP TABLE IF NOT EXISTS "_copy_{t}" (LIKE "{t}" INCLUDING DEFAULTS) '
            f'ON COMMIT DELETE ROWS; DELETE FROM "_copy_{t}"'
            for t in (table_of(table).name for table in tables)
        )
        with _translate_driver_errors("prepare COPY tables"), raw.cursor() as cur:
            cur.execute(setup)

    def upsert(
        self,
        table: type[Base],
        rows: Iterable[Mapping[str, Any]],
        conflict_cols: Sequence[str],
        update_cols: Sequence[str] | None = None,
    ) -> int:
        """Insert rows through ``COPY``, updating those whose ``conflict_cols`` already exist.

        Args:
            table: one of the batch's tables (its name and columns are trusted identifiers).
            rows: dicts of column values, all with the same keys (text, numbers, booleans, aware
                datetimes, lists of numbers or text; no JSON columns).
            conflict_cols: the primary/unique key columns.
            update_cols: columns overwritten on conflict; default: every other given column.

        Returns:
            The number of distinct rows written.

        Raises:
            StorageUnavailableError: connection trouble (retry).
            StorageDataError: rows violate a constraint or type (dead-letter).
        """
        tbl = table_of(table)
        batch = dedupe_rows(rows, conflict_cols)
        if not batch:
            return 0
        columns = list(batch[0])
        updates = [c for c in columns if c not in conflict_cols] if update_cols is None else list(update_cols)
        on_conflict = (
            f"DO UPDATE SET {', '.join(f'{_quoted([c])} = EXCLUDED.{_quoted([c])}' for c in updates)}"
            if updates
            else "DO NOTHING"
        )
        payload = copy_text(batch, columns)
        tmp = f"_copy_{tbl.name}"
        with _translate_driver_errors(f"copy into {tbl.name}"), self._raw.cursor() as cur:
            if tmp in self._dirty:
                cur.execute(f'DELETE FROM "{tmp}"')
            self._dirty.add(tmp)
            with cur.copy(f'COPY "{tmp}" ({_quoted(columns)}) FROM STDIN') as copy:
                copy.write(payload)
            cur.execute(
                f'INSERT INTO "{tbl.name}" ({_quoted(columns)}) SELECT {_quoted(columns)} FROM "{tmp}" '
                f"ON CONFLICT ({_quoted(conflict_cols)}) {on_conflict}"
            )
        return len(batch)

    def insert_new(self, table: type[Base], rows: Iterable[Mapping[str, Any]], key: Sequence[str]) -> int:
        """Insert rows whose ``key`` the caller has just deleted: a plain ``COPY`` into the table
        when the batch is :attr:`exclusive` (half the work), else :meth:`upsert`.

        Raises:
            StorageUnavailableError: connection trouble (retry).
            StorageDataError: rows violate a constraint or type (dead-letter).
        """
        if not self.exclusive:
            return self.upsert(table, rows, key)
        tbl = table_of(table)
        batch = dedupe_rows(rows, key)
        if not batch:
            return 0
        columns = list(batch[0])
        payload = copy_text(batch, columns)
        sql = f'COPY "{tbl.name}" ({_quoted(columns)}) FROM STDIN'
        with (
            _translate_driver_errors(f"copy into {tbl.name}"),
            self._raw.cursor() as cur,
            cur.copy(sql) as copy,
        ):
            copy.write(payload)
        return len(batch)


def copy_upsert(
    conn: Connection,
    table: type[Base],
    rows: Iterable[Mapping[str, Any]],
    conflict_cols: Sequence[str],
    update_cols: Sequence[str] | None = None,
) -> int:
    """One :meth:`CopyBatch.upsert` on a batch of its own (two extra statements: for one-off writes).

    Raises:
        StorageUnavailableError: connection trouble (retry).
        StorageDataError: rows violate a constraint or type (dead-letter).
    """
    return CopyBatch(conn, [table]).upsert(table, rows, conflict_cols, update_cols)
