"""Engines, sessions and programmatic Alembic migrations.

Migrations ship inside the package (``storage/migrations``), so :func:`upgrade` works from an
installed wheel as well as from a checkout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from finsent.storage.exceptions import MigrationError, translate_errors
from finsent.storage.schema import Base

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "redact_url",
    "session_scope",
    "sessionmaker_for",
    "transaction",
    "truncate_all",
    "upgrade",
]

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported inside the functions: `import storage` stays cheap for CLI start-up.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, pool_size: int = 5, connect_timeout_s: int = 10, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for ``url`` with liveness checks and a connect timeout.

    Args:
        url: SQLAlchemy URL; plain ``postgresql://`` URLs are given the psycopg 3 driver.
        pool_size: connections kept open.
        connect_timeout_s: libpq connect timeout (every network call has a timeout).
        **kwargs: passed to :func:`sqlalchemy.create_engine`.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("connect_timeout", connect_timeout_s)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        connect_args=connect_args,
        **kwargs,
    )


def redact_url(url: str) -> str:
    """``url`` with its password masked (for display); a string that is no URL comes back as is."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction (commit on success, rollback on error), errors translated.

    Connection failures raise :class:`~storage.exceptions.StorageUnavailableError` (retry);
    constraint/type violations :class:`~storage.exceptions.StorageDataError`.
    """
    with translate_errors("database transaction"), engine.begin() as conn:
        yield conn


def sessionmaker_for(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with sessionmaker_for(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser treats % as interpolation; escape it in passwords.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@contextlib.contextmanager
def _connection(engine_or_url: Engine | str) -> Iterator[Connection]:
    engine = make_engine(engine_or_url, pool_size=1) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def _run(engine_or_url: Engine | str, action: str, revision: str) -> None:
    from alembic import command

    with translate_errors(f"database {action} to {revision}"), _connection(engine_or_url) as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        try:
            getattr(command, action)(cfg, revision)
        except sa_exc.DBAPIError:
            raise  # translated by translate_errors: unreachable -> retryable
        except Exception as exc:  # alembic's CommandError, a bad revision, a broken script
            raise MigrationError(f"{action} to {revision} failed: {exc}") from exc


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent).

    Raises:
        StorageUnavailableError: the database is unreachable.
        MigrationError: a migration failed.
    """
    _run(engine_or_url, "upgrade", revision)


def downgrade(engine_or_url: Engine | str, revision: str = "base") -> None:
    """Revert migrations down to ``revision`` (``"base"``: an empty schema)."""
    _run(engine_or_url, "downgrade", revision)


def current_revision(engine_or_url: Engine | str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with translate_errors("reading the schema revision"), _connection(engine_or_url) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this build."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def truncate_all(conn: Connection) -> None:
    """Empty every table of the schema (tests; `finsent` never calls this)."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
