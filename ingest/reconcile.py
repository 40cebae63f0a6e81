"""Reconciliation: articles the broker acknowledged but no worker ever scored are sent again.

The outbox marks an article emitted once the broker acknowledged it. The message can still be
lost after that: the embedded broker keeps messages in memory only (a restart empties it), a
production topic can be recreated, or retention can expire before a lagging worker reads it.
Nothing downstream would ever ask for it again, so the outbox side checks: an article emitted
more than a grace period ago (well above normal scoring lag) with neither a score row nor a
stream dead letter is put back into the outbox and published again. The sink is idempotent on
(article, model version), so a copy that was merely slow costs a model pass, never a duplicate.

Passes run on a schedule inside `finsent crawl` and once from `finsent up` when it had to start
the broker anew (then every article emitted before the new broker started is known lost: no
grace needed). Each pass is bounded, logged, recorded in ``reconcile_passes`` (`finsent status`)
and counted in Prometheus.

Which topics need this (the others are safe to lose):

* ``articles.raw`` -- yes: the only copy in flight of an article on its way to a score.
* ``articles.scored`` -- no: written after the score is committed; the alerts service uses it
  only to evaluate windows sooner, and its timer evaluates the same windows from PostgreSQL.
* ``alerts`` -- no: alert episodes and webhook deliveries live in PostgreSQL (outbox of the
  delivery worker); the topic is a notification copy for other consumers.
* ``deadletter`` -- no: every dead letter is also stored in the ``dead_letters`` table in the
  sink's transaction.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from sqlalchemy import Engine

from finsent.core.sections import IngestSettings
from finsent.ingest.publish import OutboxPublisher
from finsent.storage.reconcile_repo import ReconcileRepository

__all__ = ["PassResult", "ReconcileMetrics", "Reconciler", "build_reconciler", "serve_metrics"]

log = logging.getLogger(__name__)


class ReconcileMetrics:
    """Prometheus counters of the reconciliation passes (served by `finsent crawl`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.passes = Counter(
            "finsent_reconcile_passes_total", "Reconciliation passes.", ["reason"], registry=self.registry
        )
        self.reemitted = Counter(
            "finsent_reconcile_reemitted_total",
            "Emitted-but-unscored articles put back into the outbox.",
            ["reason"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            "finsent_reconcile_backlog",
            "Unscored articles the last pass found beyond its cap (0: it caught up).",
            registry=self.registry,
        )


@dataclass(frozen=True)
class PassResult:
    """One pass: how many unscored articles it saw and requeued, and how many got published."""

    reason: str
    cutoff: datetime
    found: int
    reemitted: int
    published: int
    capped: bool


class Reconciler:
    """Finds emitted-but-unscored articles and sends them again through the outbox.

    Args:
        repo: The reconciliation queries.
        publisher: Drains the outbox after a pass (None: the crawler's own drain sends them).
        grace: An article emitted less than this long ago is still in flight, not lost.
        max_per_pass: Most articles one pass requeues (the rest wait for the next pass).
        lookback: Older articles are left alone (keeps the scan bounded).
        metrics: Prometheus counters (default: a private registry).
    """

    def __init__(
        self,
        repo: ReconcileRepository,
        *,
        publisher: OutboxPublisher | None = None,
        grace: timedelta = timedelta(minutes=15),
        max_per_pass: int = 5000,
        lookback: timedelta = timedelta(days=7),
        metrics: ReconcileMetrics | None = None,
    ) -> None:
        self.repo = repo
        self.publisher = publisher
        self.grace = grace
        self.max_per_pass = max_per_pass
        self.lookback = lookback
        self.metrics = metrics or ReconcileMetrics()

    def run_pass(self, *, reason: str = "schedule", emitted_before: datetime | None = None) -> PassResult:
        """Requeue unscored articles emitted before ``emitted_before`` (default: now - grace).

        Args:
            reason: ``schedule``, ``broker_restart`` or ``manual`` (logged, recorded, a label).
            emitted_before: The cutoff; `finsent up` passes the new broker's start time.

        Raises:
            StorageUnavailableError: PostgreSQL did not answer (the scheduler retries next time).
        """
        now = datetime.now(UTC)
        cutoff = emitted_before if emitted_before is not None else now - self.grace
        found, ids = self.repo.requeue_unscored(
            cutoff=cutoff, since=now - self.lookback, limit=self.max_per_pass, reason=reason
        )
        capped = found > self.max_per_pass
        self.metrics.passes.labels(reason=reason).inc()
        self.metrics.reemitted.labels(reason=reason).inc(len(ids))
        self.metrics.backlog.set(found - len(ids) if capped else 0)
        published = 0
        if ids and self.publisher is not None:
            published = self.publisher.publish_pending().published
        if ids:
            log.warning(
                "reconcile (%s): %d article(s) emitted before %s have no score; sent again%s",
                reason,
                len(ids),
                cutoff.isoformat(timespec="seconds"),
                f" (cap {self.max_per_pass} reached: more next pass)" if capped else "",
            )
        else:
            log.info("reconcile (%s): every article emitted before %s is scored", reason, cutoff.isoformat())
        return PassResult(reason, cutoff, found, len(ids), published, capped)


def build_reconciler(
    engine: Engine,
    settings: IngestSettings,
    *,
    publisher: OutboxPublisher | None = None,
    metrics: ReconcileMetrics | None = None,
) -> Reconciler:
    """A :class:`Reconciler` with the grace, cap and lookback of ``settings`` (``ingest.reconcile_*``)."""
    return Reconciler(
        ReconcileRepository(engine),
        publisher=publisher,
        grace=settings.reconcile_grace,
        max_per_pass=settings.reconcile_max_per_pass,
        lookback=settings.reconcile_lookback,
        metrics=metrics,
    )


def serve_metrics(metrics: ReconcileMetrics, port: int) -> int:
    """Serve ``/metrics`` of ``metrics`` on ``port`` (a free one when taken; 0: not served).

    Returns:
        The port served on (0: none).
    """
    if not port:
        return 0
    try:
        server, _ = start_http_server(port, addr="0.0.0.0", registry=metrics.registry)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        server, _ = start_http_server(0, addr="0.0.0.0", registry=metrics.registry)
        log.warning("crawler metrics port %d is in use; serving /metrics on %d", port, server.server_port)
    return int(server.server_port)
