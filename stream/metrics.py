"""Prometheus metrics of a scoring worker (one registry per worker, served on the metrics port)."""

from __future__ import annotations

import errno
import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["StreamMetrics"]

log = logging.getLogger(__name__)

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class StreamMetrics:
    """The worker's metrics, registered on their own registry (tests create as many as they like)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.articles_scored = Counter(
            "finsent_stream_articles_scored", "Articles scored and stored.", ["model_version"], registry=r
        )
        self.batch_size = Histogram(
            "finsent_stream_batch_size", "Messages per consumed batch.", buckets=_SIZE_BUCKETS, registry=r
        )
        self.inference_seconds = Histogram(
            "finsent_stream_inference_seconds",
            "Classifier.predict time per batch.",
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.db_write_seconds = Histogram(
            "finsent_stream_db_write_seconds",
            "Score + aggregate transaction time per batch.",
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.latency_seconds = Histogram(
            "finsent_stream_publish_to_stored_seconds",
            "From ArticleRecord.emitted_at (publish) to the score row committed.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "finsent_stream_consumer_lag",
            "Messages in the partition not yet stored by this worker.",
            ["topic", "partition"],
            registry=r,
        )
        self.dead_letters = Counter(
            "finsent_stream_dead_letters",
            "Messages sent to the dead-letter topic.",
            ["error_type"],
            registry=r,
        )
        self.db_retries = Counter(
            "finsent_stream_db_retries",
            "Retries of a batch write while PostgreSQL was unavailable.",
            registry=r,
        )
        self.sanitised = Counter(
            "finsent_stream_sanitised",
            "Entity mentions dropped or capped before scoring (bad spans, blank names, too many).",
            ["reason"],
            registry=r,
        )
        self.sentences_scored = Counter(
            "finsent_stream_sentences_scored", "Body sentences scored (whole-article scoring).", registry=r
        )
        self.stage_seconds = Histogram(
            "finsent_stream_stage_seconds",
            "Time per batch in each stage (decode, plan, inference, assemble, store, publish).",
            ["stage"],
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.model_reloads = Counter(
            "finsent_stream_model_reloads", "Production model versions loaded while running.", registry=r
        )
        self.model_loaded = Gauge(
            "finsent_stream_model_loaded", "1 for the model version in use.", ["version"], registry=r
        )

    def set_model(self, version: str, previous: str | None = None) -> None:
        """Record the model version now in use."""
        if previous is not None:
            self.model_loaded.labels(version=previous).set(0)
        self.model_loaded.labels(version=version).set(1)

    def serve(self, port: int, addr: str = "0.0.0.0") -> int:
        """Serve ``/metrics`` on ``port`` in a background thread (no-op for port 0).

        A port another process holds (a second worker on the same host) is no reason to stop
        scoring: this worker then serves on a free port the OS picks, and says which.

        Returns:
            The port ``/metrics`` is served on (0: not served).
        """
        if not port:
            return 0
        try:
            server, _ = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            server, _ = start_http_server(0, addr=addr, registry=self.registry)
            log.warning(
                "metrics port %d is in use (another worker?); this worker serves /metrics on port %d",
                port,
                server.server_port,
            )
        return int(server.server_port)
