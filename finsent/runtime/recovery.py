"""Reconciliation from the shell: a pass when `finsent up` had to start the broker anew, and status.

The embedded broker keeps messages in memory only: when `finsent up` starts it, every article
that was emitted before and has no score yet is known lost, so it is sent again at once (no
grace period). See :mod:`finsent.ingest.reconcile` for the scheduled passes of the crawler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from finsent.core.settings import Settings

__all__ = ["ReconcileStatus", "reconcile_pass", "reconcile_status"]


@dataclass(frozen=True)
class ReconcileStatus:
    """What `finsent status` reports about reconciliation."""

    passes: int
    reemitted_total: int
    last_at: datetime | None
    last_reason: str | None
    last_reemitted: int
    overdue: int  # emitted longer than the grace period ago, still without a score

    def line(self) -> str:
        """One human-readable line."""
        last = "never ran"
        if self.last_at is not None:
            when = self.last_at.astimezone(UTC).isoformat(timespec="seconds")
            last = f"last pass {when} ({self.last_reason}): {self.last_reemitted} sent again"
        return (
            f"{last}; {self.reemitted_total} sent again in {self.passes} passes; "
            f"{self.overdue} emitted article(s) past the grace period without a score"
        )


def reconcile_pass(
    settings: Settings,
    database_url: str,
    kafka_bootstrap: str,
    *,
    reason: str,
    emitted_before: datetime | None = None,
    grace: timedelta | None = None,
) -> str:
    """One bounded pass that requeues and publishes emitted-but-unscored articles.

    Args:
        settings: finsent settings (``ingest.reconcile_*``, topic prefix).
        database_url: where PostgreSQL is.
        kafka_bootstrap: where the broker is.
        reason: ``broker_restart`` (from `finsent up`) or ``manual``.
        emitted_before: cutoff (default: now minus the grace period).
        grace: overrides ``settings.ingest.reconcile_grace``.

    Returns:
        A line saying what was done.
    """
    from finsent.ingest.publish import OutboxPublisher
    from finsent.ingest.reconcile import build_reconciler
    from finsent.storage.db import make_engine
    from finsent.stream.topics import Topics

    engine = make_engine(database_url, pool_size=1)
    publisher = OutboxPublisher(engine, kafka_bootstrap, Topics(settings.kafka.topic_prefix).raw_articles)
    try:
        reconciler = build_reconciler(engine, settings.ingest, publisher=publisher)
        if grace is not None:
            reconciler.grace = grace
        result = reconciler.run_pass(reason=reason, emitted_before=emitted_before)
    finally:
        publisher.close()
        engine.dispose()
    more = " (cap reached: the crawler's next passes send the rest)" if result.capped else ""
    return (
        f"reconciled: {result.reemitted} emitted article(s) without a score sent again "
        f"({result.published} published){more}"
    )


def reconcile_status(settings: Settings, database_url: str) -> ReconcileStatus:
    """Totals, the last pass, and the articles overdue now.

    Raises:
        StorageUnavailableError: PostgreSQL did not answer.
    """
    from finsent.storage.db import make_engine
    from finsent.storage.reconcile_repo import ReconcileRepository

    engine = make_engine(database_url, pool_size=1, connect_timeout_s=3)
    try:
        repo = ReconcileRepository(engine)
        summary = repo.summary()
        now = datetime.now(UTC)
        overdue = repo.unscored_count(
            cutoff=now - settings.ingest.reconcile_grace, since=now - settings.ingest.reconcile_lookback
        )
    finally:
        engine.dispose()
    return ReconcileStatus(
        summary.passes,
        summary.reemitted_total,
        summary.last_at,
        summary.last_reason,
        summary.last_reemitted,
        overdue,
    )
