"""Everything a stream worker needs to know, resolved once in the entry point."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from finsent.core.settings import Settings
from finsent.stream.topics import Topics

__all__ = ["StreamConfig"]


@dataclass(frozen=True)
class StreamConfig:
    """Resolved settings of one scoring worker.

    Attributes:
        database_url: SQLAlchemy URL of PostgreSQL.
        kafka_bootstrap: ``host:port[,host:port]`` of the brokers.
        topics: topic names (from the prefix).
        group_id: Kafka consumer group (and Faust app id) shared by every worker that scales out.
        batch_size: most articles per inference batch (``stream.take`` maximum).
        batch_window_s: longest wait to fill a batch.
        concurrency: agent instances per worker process (they share one inference thread).
        device: inference device (``auto`` | ``cpu`` | ``cuda``).
        cpu_backend: CPU inference path passed to ``Classifier.load``.
        max_length: token limit per text.
        model_store: directory of registered model versions.
        data_dir: directory for the worker's local state (Faust keeps a small data dir there).
        metrics_port: Prometheus port (0 = off).
        reload_check_s: least seconds between two looks at the registry for a new production model.
        session_timeout_s: consumer-group session timeout (a killed worker's partitions move after it).
        commit_interval_s: how often acknowledged offsets are committed.
        fetch_max_wait_s: longest a fetch waits at the broker when there is nothing new (bounds
            the delivery delay on brokers that do not answer long polls early).
        topic_partitions: partitions of the topics the app declares.
        log_level: log level of the worker.
    """

    database_url: str
    kafka_bootstrap: str
    topics: Topics
    group_id: str
    batch_size: int = 64
    batch_window_s: float = 0.5
    concurrency: int = 1
    device: str = "auto"
    cpu_backend: str = "auto"
    max_length: int = 128
    model_store: Path = Path("var/models")
    data_dir: Path = Path("var")
    metrics_port: int = 0
    reload_check_s: float = 5.0
    session_timeout_s: float = 10.0
    commit_interval_s: float = 1.0
    fetch_max_wait_s: float = 0.1
    topic_partitions: int = 4
    log_level: str = "INFO"

    @classmethod
    def from_settings(
        cls, settings: Settings, *, database_url: str, kafka_bootstrap: str, **overrides: Any
    ) -> StreamConfig:
        """Build the worker config from the settings and the resolved service URLs.

        Args:
            settings: finsent settings.
            database_url: resolved PostgreSQL URL.
            kafka_bootstrap: resolved bootstrap servers.
            **overrides: any field of this class (command-line options); ``None`` values are ignored.
        """
        topics = Topics(settings.topic_prefix)
        config = cls(
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            topics=topics,
            group_id=f"{settings.topic_prefix}-scoring",
            batch_size=settings.batch_size,
            batch_window_s=settings.batch_window_s,
            concurrency=settings.worker_concurrency,
            device=settings.device,
            cpu_backend=settings.cpu_backend,
            max_length=settings.max_length,
            model_store=settings.model_store_dir,
            data_dir=settings.data_dir,
            metrics_port=settings.metrics_port,
            topic_partitions=settings.topic_partitions,
            log_level=settings.log_level,
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def broker_urls(self) -> list[str]:
        """Faust broker URLs (``kafka://host:port`` each)."""
        return [f"kafka://{server.strip()}" for server in self.kafka_bootstrap.split(",") if server.strip()]
