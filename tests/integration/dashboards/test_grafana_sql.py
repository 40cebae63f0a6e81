"""Every Grafana panel's SQL, macros expanded, runs on the real schema and returns demo data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text

from finsent.dashboards.grafana_build import build_dashboards, iter_queries
from finsent.dashboards.grafana_sql import expand_macros
from finsent.storage.schema import WebhookDelivery, WebhookSubscription
from tests.support.dashboards_seed import (
    MODEL_VERSION,
    insert_alert,
    insert_dead_letter,
    register_model,
    seed_demo,
)

QUERIES = [
    (f"{uid}: {where}", sql)
    for uid, dashboard in build_dashboards().items()
    for where, sql in iter_queries(dashboard)
]


@pytest.fixture
def demo_data(db_engine: Engine, tmp_path: Path) -> datetime:
    """Scored articles, alerts, dead letters, webhook deliveries and a production model."""
    now = datetime.now(UTC)
    register_model(db_engine, MODEL_VERSION, tmp_path / "model", status="production")
    seed_demo(db_engine, now=now, minutes=30)
    insert_alert(db_engine)
    insert_alert(db_engine, rule_id="drop", status="resolved", resolved_at=now - timedelta(minutes=1))
    insert_dead_letter(db_engine, at=now - timedelta(minutes=3))
    with db_engine.begin() as conn:
        sub = conn.execute(
            insert(WebhookSubscription)
            .values(url="http://127.0.0.1:9/h", secret="s" * 20)
            .returning(WebhookSubscription.id)
        ).scalar_one()
        conn.execute(insert(WebhookDelivery).values(subscription_id=sub, event="opened", payload={}))
        # One article still in the outbox, so the backlog panel has something to count.
        conn.execute(text("UPDATE articles SET emitted_at = NULL WHERE id = (SELECT min(id) FROM articles)"))
    return now


def test_every_panel_sql_runs_and_returns_rows(db_engine: Engine, demo_data: datetime) -> None:
    # One test over all panels (seeding once); the failure lists every broken panel by name.
    problems = []
    for where, sql in QUERIES:
        query = expand_macros(
            sql,
            start=demo_data - timedelta(hours=6),
            end=demo_data + timedelta(minutes=1),
            interval=timedelta(minutes=5),
            variables={"ticker": "AAPL"},
        )
        assert "$" not in query, f"{where}: every macro and variable expanded"
        with db_engine.connect() as conn:
            result = conn.execute(text(query))
            columns, rows = list(result.keys()), result.fetchall()
        if not rows:
            problems.append(f"{where}: no rows for the demo data")
        elif "$__timeGroupAlias" in sql and columns[0] != "time":
            problems.append(f"{where}: Grafana reads time series from a first column named time")
    assert len(QUERIES) >= 15
    assert problems == []
