"""Storage errors, split by what the caller should do.

* :class:`StorageUnavailableError` (a ``RetryableError``): the database is unreachable or the
  connection dropped; retry with backoff.
* :class:`StorageDataError` (a ``BadDataError``): the rows violate a constraint or type; dead-letter.
* :class:`MigrationError`: the schema could not be migrated; fail loudly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from finsent.core.errors import BadDataError, FinsentError, RetryableError

__all__ = [
    "MigrationError",
    "StorageDataError",
    "StorageError",
    "StorageUnavailableError",
    "translate_errors",
]


class StorageError(FinsentError):
    """Root of the storage errors."""


class StorageUnavailableError(StorageError, RetryableError):
    """The database is unreachable, the connection dropped, or a transient conflict occurred."""


class StorageDataError(StorageError, BadDataError):
    """The data violates the schema (constraint, type, value) and will never be accepted as is."""


class MigrationError(StorageError):
    """Applying or reverting migrations failed."""


# SQLSTATE classes that are worth retrying: connection exceptions, serialization failures,
# deadlocks, operator intervention (e.g. admin shutdown), insufficient resources.
_RETRYABLE_SQLSTATE = ("08", "40", "57", "53")


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Re-raise SQLAlchemy errors from the block as storage errors saying ``what`` failed."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        message = f"{what}: {str(exc.orig).strip() or type(exc.orig).__name__}"
        if (
            exc.connection_invalidated
            or sqlstate.startswith(_RETRYABLE_SQLSTATE)
            or (not sqlstate and isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)))
        ):
            raise StorageUnavailableError(message) from exc
        if isinstance(exc, (sa_exc.IntegrityError, sa_exc.DataError)):
            raise StorageDataError(message) from exc
        raise StorageError(message) from exc
    except sa_exc.DisconnectionError as exc:
        raise StorageUnavailableError(f"{what}: {exc}") from exc
