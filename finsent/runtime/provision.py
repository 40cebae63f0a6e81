"""Make the services ready for finsent: schema migrated, topics created, a production model registered."""

from __future__ import annotations

import importlib
import logging

from finsent.core.errors import FinsentError
from finsent.core.settings import Settings
from finsent.runtime.kafka_admin import create_topics

__all__ = ["provision"]

log = logging.getLogger(__name__)


def provision(settings: Settings, database_url: str, kafka_bootstrap: str) -> list[str]:
    """Apply migrations, create finsent's topics and register the shipped default model (idempotent).

    Args:
        settings: finsent settings (topic prefix and partitions, model store).
        database_url: where PostgreSQL is.
        kafka_bootstrap: where the broker is.

    Returns:
        Human-readable lines saying what was done.
    """
    from finsent.storage.db import current_revision, make_engine, upgrade
    from finsent.stream.topics import Topics

    done: list[str] = []
    engine = make_engine(database_url, pool_size=1)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        done.append(f"schema at revision {after}" + (f" (was {before})" if before != after else ""))
        topics = Topics(settings.topic_prefix).all()
        created = create_topics(kafka_bootstrap, topics, settings.topic_partitions)
        done.append(f"topics ready: {len(topics)} ({len(created)} created)")
        done.append(_register_default_model(settings, engine))
    finally:
        engine.dispose()
    for line in done:
        log.info("%s", line)
    return done


def _register_default_model(settings: Settings, engine: object) -> str:
    try:
        registry = importlib.import_module("finsent.models.registry")
    except ImportError as exc:
        return f"default model not registered: models.registry unavailable ({exc})"
    ensure = getattr(registry, "ensure_default_registered", None)
    if ensure is None:
        return "default model not registered: models.registry.ensure_default_registered missing"
    _wire_registry_index(registry)
    try:
        result = ensure(engine, settings.model_store_dir)
    except (FinsentError, OSError) as exc:
        # The services are usable without a model (crawling, API); say so loudly, do not fail `up`.
        log.info("default model not registered: %s", exc)
        return f"WARNING: default model not registered: {exc}"
    version = getattr(result, "version", result)
    return f"production model: {version}" if version is not None else "production model registered"


def _wire_registry_index(registry: object) -> None:
    # models imports no storage: the app shell tells the registry how to index versions in SQL.
    set_factory = getattr(registry, "set_index_factory", None)
    try:
        sql_index = importlib.import_module("finsent.storage.model_registry").SqlModelIndex
    except (ImportError, AttributeError):
        return
    if set_factory is not None:
        set_factory(sql_index)
