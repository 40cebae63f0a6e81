"""Everything a stream worker needs to know, resolved once in the entry point."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from finsent.core.settings import Settings
from finsent.stream.topics import Topics

__all__ = ["StreamConfig"]


@dataclass(frozen=True)
class StreamConfig:
    """Resolved settings of one scoring worker (no defaults here: they are the settings').

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
        whole_article: score bodies sentence by sentence and roll them up.
        max_sentences: most body sentences scored per article.
        entity_scoring: score entities from their own mentions (models with an entity head).
        max_entities: most entities scored per article.
        max_spans_per_entity: most mention spans of one entity used for its score.
    """

    database_url: str
    kafka_bootstrap: str
    topics: Topics
    group_id: str
    batch_size: int
    batch_window_s: float
    concurrency: int
    device: str
    cpu_backend: str
    max_length: int
    model_store: Path
    data_dir: Path
    metrics_port: int
    reload_check_s: float
    session_timeout_s: float
    commit_interval_s: float
    fetch_max_wait_s: float
    topic_partitions: int
    log_level: str
    whole_article: bool
    max_sentences: int
    entity_scoring: bool
    max_entities: int
    max_spans_per_entity: int

    @classmethod
    def from_settings(cls, settings: Settings, *, database_url: str, kafka_bootstrap: str) -> StreamConfig:
        """Build the worker config from the settings and the resolved service URLs.

        The defaults are the settings' (``settings.stream``, ``settings.models``); command-line
        options apply to the settings first (:meth:`Settings.override`).

        Args:
            settings: finsent settings.
            database_url: resolved PostgreSQL URL.
            kafka_bootstrap: resolved bootstrap servers.
        """
        stream, models, kafka = settings.stream, settings.models, settings.kafka
        return cls(
            database_url=database_url,
            kafka_bootstrap=kafka_bootstrap,
            topics=Topics(kafka.topic_prefix),
            group_id=stream.group or f"{kafka.topic_prefix}-scoring",
            batch_size=stream.batch_size,
            batch_window_s=stream.batch_window.total_seconds(),
            concurrency=stream.concurrency,
            device=models.device,
            cpu_backend=models.cpu_backend,
            max_length=models.max_length,
            model_store=settings.model_store_dir,
            data_dir=settings.data_dir,
            metrics_port=stream.metrics_port,
            reload_check_s=stream.reload_check.total_seconds(),
            session_timeout_s=stream.session_timeout.total_seconds(),
            commit_interval_s=stream.commit_interval.total_seconds(),
            fetch_max_wait_s=stream.fetch_max_wait.total_seconds(),
            topic_partitions=kafka.topic_partitions,
            log_level=settings.log_level,
            whole_article=stream.whole_article,
            max_sentences=stream.max_sentences,
            entity_scoring=stream.entity_scoring,
            max_entities=stream.max_entities,
            max_spans_per_entity=stream.max_spans_per_entity,
        )

    @property
    def broker_urls(self) -> list[str]:
        """Faust broker URLs (``kafka://host:port`` each)."""
        return [f"kafka://{server.strip()}" for server in self.kafka_bootstrap.split(",") if server.strip()]
