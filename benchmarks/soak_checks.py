"""The end-of-soak checks: nothing lost, nothing duplicated, aggregates and deliveries consistent.

Each check reads PostgreSQL after the stack went quiet and returns a :class:`Check` (a figure and a
verdict, printed in the soak table). Counting queries only; nothing is repaired here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text

from finsent.ingest.demo import DemoFeed
from finsent.storage.aggregates import aggregate_mismatches

__all__ = ["Check", "run_checks", "scoring_settled"]


@dataclass(frozen=True)
class Check:
    """One verdict of the soak."""

    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


_SCORES = text(
    "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM scores), "
    "(SELECT count(DISTINCT article_id) FROM scores), "
    "(SELECT count(*) FROM articles WHERE emitted_at IS NULL), "
    "(SELECT count(*) FROM dead_letters WHERE stage = 'stream')"
)


def scoring_settled(engine: Engine) -> tuple[bool, str]:
    """Whether every stored article is published and scored (the quiescence test)."""
    with engine.connect() as conn:
        articles, _rows, distinct, pending, letters = conn.execute(_SCORES).one()
    done = pending == 0 and distinct + letters >= articles
    return done, f"{articles} articles, {distinct} scored, {pending} in the outbox, {letters} dead-lettered"


def run_checks(engine: Engine, *, demo_seed: int, demo_rate: float, received: int) -> list[Check]:
    """Every check of the soak, in table order.

    Args:
        engine: Engine on the soak's database.
        demo_seed: Seed of the demo feed the crawler ran (for the gap check).
        demo_rate: Its items per minute.
        received: Requests the webhook receiver answered.
    """
    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as conn, conn.begin():  # every check reads the same snapshot
        checks = [
            _exactly_one_score(conn),
            _aggregates(conn),
            _no_gap(conn, demo_seed, demo_rate),
            _episodes(conn),
            _deliveries(conn, received),
        ]
    return checks


def _exactly_one_score(conn: Any) -> Check:
    articles, rows, distinct, _pending, letters = conn.execute(_SCORES).one()
    ok = articles == rows == distinct and letters == 0
    detail = f"{articles} articles, {rows} score rows, {distinct} distinct, {letters} dead letters"
    return Check("every crawled article has exactly one score row", ok, detail)


def _aggregates(conn: Any) -> Check:
    mismatches = aggregate_mismatches(conn)
    return Check("aggregates equal a recount", not mismatches, f"{len(mismatches)} mismatching buckets")


def _no_gap(conn: Any, seed: int, rate: float) -> Check:
    rows = conn.execute(text("SELECT url, published_at FROM articles WHERE source_id = 'demo'")).all()
    if not rows:
        return Check("no demo item lost while crawling", False, "no demo article stored")
    stored = {r.url for r in rows}
    first = min(r.published_at for r in rows)
    last = max(r.published_at for r in rows) + timedelta(microseconds=1)
    expected = DemoFeed(seed=seed, rate_per_min=rate).items_between(first, last)
    missing = sum(1 for item in expected if item.url not in stored)
    detail = f"{len(expected)} published between the first and last stored, {missing} missing"
    return Check("no demo item lost while crawling", missing == 0, detail)


def _episodes(conn: Any) -> Check:
    total = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
    dup_windows = conn.execute(
        text(
            "SELECT count(*) FROM (SELECT 1 FROM alerts GROUP BY rule_id, scope_kind, scope_value, "
            "window_start HAVING count(*) > 1) AS d"
        )
    ).scalar_one()
    dup_opened = conn.execute(
        text(
            "SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries WHERE event = 'opened' "
            "GROUP BY subscription_id, alert_id HAVING count(*) > 1) AS d"
        )
    ).scalar_one()
    ok = dup_windows == 0 and dup_opened == 0
    detail = (
        f"{total} episodes, {dup_windows} duplicated windows, {dup_opened} duplicated 'opened' deliveries"
    )
    return Check("no alert episode duplicated", ok, detail)


def _deliveries(conn: Any, received: int) -> Check:
    total, unattempted, pending, delivered = conn.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE attempts = 0), "
            "count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'delivered') "
            "FROM webhook_deliveries"
        )
    ).one()
    ok = unattempted == 0 and pending == 0 and received >= delivered
    detail = (
        f"{total} deliveries, {delivered} delivered, {unattempted} never attempted, {pending} pending; "
        f"receiver got {received} requests"
    )
    return Check("every webhook delivery attempted", ok, detail)
