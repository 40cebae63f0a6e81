"""Reconciliation queries: articles the broker acknowledged that never got a score.

An article is *unscored* when it has no ``scores`` row (any model version) and no stream
dead letter keyed by its id (the worker gave up on it on purpose: re-sending would only
dead-letter it again). Requeueing sets ``emitted_at`` back to NULL, which puts the article back
into the outbox; the publisher sends it again and the idempotent sink makes a second copy
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert, select, text

from finsent.storage.schema import ReconcilePass

__all__ = ["ReconcileRepository", "ReconcileSummary"]

_CANDIDATES = text(
    """
    SELECT a.id FROM articles AS a
    WHERE a.emitted_at IS NOT NULL AND a.emitted_at < :cutoff AND a.emitted_at >= :since
      AND NOT EXISTS (SELECT 1 FROM scores AS s WHERE s.article_id = a.id)
      AND NOT EXISTS (SELECT 1 FROM dead_letters AS d WHERE d.stage = 'stream' AND d.key = a.id)
    ORDER BY a.emitted_at, a.id
    LIMIT :limit
    FOR UPDATE OF a SKIP LOCKED
    """
)
_REQUEUE = text("UPDATE articles SET emitted_at = NULL WHERE id = ANY(:ids) AND emitted_at IS NOT NULL")


@dataclass(frozen=True)
class ReconcileSummary:
    """What reconciliation has done on this database (for `finsent status`)."""

    passes: int
    reemitted_total: int
    last_at: datetime | None
    last_reason: str | None
    last_found: int
    last_reemitted: int


class ReconcileRepository:
    """Find and requeue emitted-but-unscored articles; log each pass.

    Args:
        engine: Engine on the finsent database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def requeue_unscored(
        self, *, cutoff: datetime, since: datetime, limit: int, reason: str
    ) -> tuple[int, list[str]]:
        """Put up to ``limit`` unscored articles emitted in ``[since, cutoff)`` back into the outbox.

        One transaction: the rows are locked (``SKIP LOCKED``: two crawlers never requeue the
        same article twice at once), requeued, and the pass is logged.

        Returns:
            ``(found, ids)``: unscored candidates seen (at most ``limit + 1``, so ``found > limit``
            means more wait for the next pass) and the ids requeued.
        """
        with self.engine.begin() as conn:
            rows = conn.execute(_CANDIDATES, {"cutoff": cutoff, "since": since, "limit": limit + 1})
            found = [r.id for r in rows]
            ids = found[:limit]
            if ids:
                conn.execute(_REQUEUE, {"ids": ids})
            conn.execute(
                insert(ReconcilePass).values(
                    reason=reason, cutoff=cutoff, found=len(found), reemitted=len(ids)
                )
            )
        return len(found), ids

    def summary(self) -> ReconcileSummary:
        """Totals over every pass and the last pass."""
        with self.engine.connect() as conn:
            passes, total = conn.execute(
                select(func.count(), func.coalesce(func.sum(ReconcilePass.reemitted), 0))
            ).one()
            last = (
                conn.execute(select(ReconcilePass.__table__).order_by(ReconcilePass.id.desc()).limit(1))
                .mappings()
                .first()
            )
        if last is None:
            return ReconcileSummary(int(passes), int(total), None, None, 0, 0)
        return ReconcileSummary(
            int(passes), int(total), last["at"], last["reason"], last["found"], last["reemitted"]
        )

    def unscored_count(self, *, cutoff: datetime, since: datetime) -> int:
        """Emitted, unscored, not dead-lettered articles emitted in ``[since, cutoff)``."""
        query = text(
            "SELECT count(*) FROM articles AS a WHERE a.emitted_at IS NOT NULL "
            "AND a.emitted_at < :cutoff AND a.emitted_at >= :since "
            "AND NOT EXISTS (SELECT 1 FROM scores AS s WHERE s.article_id = a.id) "
            "AND NOT EXISTS (SELECT 1 FROM dead_letters AS d WHERE d.stage = 'stream' AND d.key = a.id)"
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query, {"cutoff": cutoff, "since": since}).scalar_one())
