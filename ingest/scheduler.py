"""``finsent crawl``: every source on its own interval (APScheduler), until asked to stop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from finsent.ingest.crawler import Crawler, SourceSummary
from finsent.ingest.reconcile import Reconciler
from finsent.ingest.sources.base import Source

__all__ = ["run_scheduled"]

log = logging.getLogger(__name__)


def _poll_job(crawler: Crawler, source: Source, on_summary: Callable[[SourceSummary], None] | None) -> None:
    if not crawler.is_due(source):
        log.debug("source %s: backing off after failures, skipped", source.id)
        return
    summary = crawler.poll_source(source)
    log.info(
        "source %s: fetched=%d new=%d duplicates=%d errors=%d not_modified=%d",
        summary.source_id,
        summary.fetched,
        summary.new,
        summary.duplicates,
        summary.errors,
        summary.not_modified,
    )
    if on_summary is not None:
        on_summary(summary)
    if summary.new:
        crawler.publish()


def _reconcile_job(reconciler: Reconciler) -> None:
    try:
        reconciler.run_pass(reason="schedule")
    except Exception:  # PostgreSQL away or a bug: crawling goes on, the next pass retries
        log.exception("reconciliation pass failed; retrying at the next interval")


def run_scheduled(
    crawler: Crawler,
    stop: threading.Event,
    *,
    publish_interval_s: float = 5.0,
    on_summary: Callable[[SourceSummary], None] | None = None,
    reconciler: Reconciler | None = None,
    reconcile_interval_s: float = 120.0,
) -> None:
    """Poll each source every ``interval_s`` and drain the outbox regularly until ``stop`` is set.

    Each source is one job (never two polls of a source at once; missed runs coalesce). A
    failing source backs off exponentially while the others go on. On stop, running polls
    finish (they are bounded by HTTP timeouts), the outbox is drained once more, and
    connections are closed.

    Args:
        crawler: The crawler.
        stop: Set it (e.g. from a SIGTERM handler) to shut down gracefully.
        publish_interval_s: How often the outbox is drained (also after every poll with news).
        on_summary: Called with the summary of every poll.
        reconciler: Sends emitted-but-unscored articles again, at start and every
            ``reconcile_interval_s`` (None: no reconciliation).
        reconcile_interval_s: Seconds between reconciliation passes.
    """
    workers = max(2, crawler.max_workers + 1)
    scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(workers)}, timezone=UTC)
    now = datetime.now(UTC)
    for source in crawler.sources:
        scheduler.add_job(
            _poll_job,
            IntervalTrigger(seconds=source.interval_s, timezone=UTC),
            args=(crawler, source, on_summary),
            id=f"source:{source.id}",
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(source.interval_s)),
        )
    if crawler.publisher is not None:
        scheduler.add_job(
            crawler.publish,
            IntervalTrigger(seconds=publish_interval_s, timezone=UTC),
            id="outbox",
            max_instances=1,
            coalesce=True,
        )
    if reconciler is not None:
        scheduler.add_job(
            _reconcile_job,
            IntervalTrigger(seconds=reconcile_interval_s, timezone=UTC),
            args=(reconciler,),
            id="reconcile",
            next_run_time=now,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    log.info("crawling %d source(s); stop with SIGTERM or Ctrl-C", len(crawler.sources))
    try:
        stop.wait()
    finally:
        log.info("stopping: waiting for running polls")
        scheduler.shutdown(wait=True)
        try:
            stats = crawler.publish()
            log.info("final outbox drain: %d published", stats.published)
        except Exception as exc:  # PostgreSQL down: the rows stay in the outbox for the next run
            log.warning("final outbox drain failed (%s); unpublished articles stay in the outbox", exc)
        finally:
            crawler.close()
