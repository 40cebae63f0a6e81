"""The application context of one CLI command: settings, engine, registry, producer, built once, lazily.

A command asks :func:`current` for what it needs; nothing is built before it is used (``finsent
--help`` opens no connection and imports no database driver), and nothing is built twice. Options
apply through :meth:`AppContext.override` before the first service is built. Whatever was built is
closed when the command ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cached_property
from typing import TYPE_CHECKING, Any

from finsent.core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from finsent.models.registry import ModelRegistry
    from finsent.stream.kafka import Producer

__all__ = ["CLIENT_ID", "AppContext", "command_context", "current"]

#: Kafka client id of the CLI's producer.
CLIENT_ID = "finsent-cli"


class AppContext:
    """What a command needs, each built on first use and kept for the rest of the command."""

    def __init__(self, settings: Settings | None = None) -> None:
        """Args:
        settings: use these instead of reading them (tests); default: :meth:`Settings.load`.
        """
        if settings is not None:
            self.settings = settings

    @cached_property
    def settings(self) -> Settings:
        """The settings of this process (unknown or invalid ones raise ConfigError here)."""
        return Settings.load()

    def override(self, **changes: Any) -> Settings:
        """Apply command-line options to the settings (``None`` keeps the setting).

        Raises:
            RuntimeError: a service was already built from the old settings (a bug in the command).
        """
        built = {"database_url", "kafka_bootstrap", "engine", "registry", "producer"} & set(vars(self))
        if built:
            raise RuntimeError(f"options applied after {sorted(built)} were built")
        self.settings = self.settings.override(**changes)
        return self.settings

    @cached_property
    def database_url(self) -> str:
        """The PostgreSQL URL: the setting, else the running embedded server's."""
        from finsent.runtime import resolve_database_url

        return resolve_database_url(self.settings)

    @cached_property
    def kafka_bootstrap(self) -> str:
        """The bootstrap servers: the setting, else the running embedded broker's."""
        from finsent.runtime import resolve_kafka_bootstrap

        return resolve_kafka_bootstrap(self.settings)

    @cached_property
    def engine(self) -> Engine:
        """A SQLAlchemy engine on :attr:`database_url` (disposed when the command ends)."""
        from finsent.storage.db import make_engine

        return make_engine(self.database_url)

    @cached_property
    def producer(self) -> Producer:
        """A Kafka producer on :attr:`kafka_bootstrap` (finsent's delivery guarantees; closed at the end)."""
        from finsent.stream.kafka import Producer

        return Producer(self.kafka_bootstrap, client_id=CLIENT_ID)

    @cached_property
    def registry(self) -> ModelRegistry:
        """The model registry: versions indexed in PostgreSQL, files in the model store."""
        from finsent.models.registry import ModelRegistry
        from finsent.storage.model_versions import SqlModelIndex

        return ModelRegistry(SqlModelIndex(self.engine), self.settings.model_store_dir)

    def close(self) -> None:
        """Release what was built (called when the command ends)."""
        producer = vars(self).pop("producer", None)
        if producer is not None:
            producer.close()
        engine = vars(self).pop("engine", None)
        if engine is not None:
            engine.dispose()


_CURRENT: ContextVar[AppContext | None] = ContextVar("finsent_app_context", default=None)


@contextlib.contextmanager
def command_context(settings: Settings | None = None) -> Iterator[AppContext]:
    """The context of one command: current while the block runs, closed after it.

    The root command group (:class:`finsent.cli.errors.FinsentGroup`) runs every command in one.
    """
    app = AppContext(settings)
    token = _CURRENT.set(app)
    try:
        yield app
    finally:
        _CURRENT.reset(token)
        app.close()


def current() -> AppContext:
    """The context of the command being run.

    Raises:
        RuntimeError: called outside a command of ``finsent.cli.app`` (a bug).
    """
    app = _CURRENT.get()
    if app is None:
        raise RuntimeError("no finsent command is running: commands run under finsent.cli.app")
    return app
