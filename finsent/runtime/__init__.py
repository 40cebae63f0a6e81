"""The embedded runtime: PostgreSQL and a Kafka-protocol broker on localhost, no Docker needed.

``EmbeddedStack(settings).start()/stop()/status()`` manage them; :func:`resolve_urls` tells any
command where the services are (external URLs from the settings win); :func:`create_topics`
creates Kafka topics idempotently; :func:`provision` applies migrations, creates finsent's topics
and registers the default model.
"""

from __future__ import annotations

from finsent.runtime.exceptions import EmbeddedStartError, RuntimeStackError, StackNotRunningError
from finsent.runtime.kafka_admin import create_topics, kafka_healthy
from finsent.runtime.postgres import postgres_healthy
from finsent.runtime.provision import provision
from finsent.runtime.stack import (
    EmbeddedStack,
    ServiceStatus,
    StackInfo,
    StackStatus,
    resolve_database_url,
    resolve_kafka_bootstrap,
    resolve_urls,
)

__all__ = [
    "EmbeddedStack",
    "EmbeddedStartError",
    "RuntimeStackError",
    "ServiceStatus",
    "StackInfo",
    "StackNotRunningError",
    "StackStatus",
    "create_topics",
    "kafka_healthy",
    "postgres_healthy",
    "provision",
    "resolve_database_url",
    "resolve_kafka_bootstrap",
    "resolve_urls",
]
