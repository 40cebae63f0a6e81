"""Make the services ready for finsent: schema migrated, topics created, a production model registered."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from finsent.core.errors import FinsentError
from finsent.core.settings import Settings
from finsent.runtime.kafka_admin import create_topics

if TYPE_CHECKING:
    from sqlalchemy import Engine

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
    # Imported here: `finsent.runtime` is imported by every CLI command, and --help must stay fast.
    from finsent.storage.db import current_revision, make_engine, upgrade
    from finsent.stream.topics import Topics

    done: list[str] = []
    engine = make_engine(database_url, pool_size=1)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
        done.append(f"schema at revision {after}" + (f" (was {before})" if before != after else ""))
        topics = Topics(settings.kafka.topic_prefix).all()
        created = create_topics(kafka_bootstrap, topics, settings.kafka.topic_partitions)
        done.append(f"topics ready: {len(topics)} ({len(created)} created)")
        done.append(_register_default_model(settings, engine))
    finally:
        engine.dispose()
    for line in done:
        log.info("%s", line)
    return done


def _register_default_model(settings: Settings, engine: Engine) -> str:
    from finsent.storage.model_versions import SqlModelIndex

    current = SqlModelIndex(engine).production()
    if current is not None:  # the usual case on a restart: no need to import torch (seconds)
        return f"production model: {current['version']}"
    from finsent.models.registry import ModelRegistry, ensure_default_registered

    registry = ModelRegistry(SqlModelIndex(engine), settings.model_store_dir)
    try:
        record = ensure_default_registered(registry)
    except (FinsentError, OSError) as exc:
        # The services are usable without a model (crawling, API); say so loudly, do not fail `up`.
        log.info("default model not registered: %s", exc)
        return f"WARNING: default model not registered: {exc}"
    return f"production model: {record.version}"
