"""The ``retrain_failed`` alert runs the alerts stage's lifecycle and outbox (no model trained here)."""

from __future__ import annotations

from sqlalchemy import Engine

from finsent.lifecycle.retrain_alerts import RETRAIN_FAILED, raise_failure_alert, resolve_failure_alert
from finsent.storage import alerts_repo, webhooks_repo


def _deliveries(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [d["event"] for d in webhooks_repo.list_deliveries(conn)]


def test_failures_open_update_and_a_good_run_resolves(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        events = {"events": ["opened", "updated", "resolved"]}
        webhooks_repo.add_subscription(conn, "http://127.0.0.1:9/hook", "s3cret", filters=events)
    assert resolve_failure_alert(db_engine, "r0") is None, "nothing to resolve yet"
    first = raise_failure_alert(db_engine, "r1", "MemoryError: boom", deliver=False)
    again = raise_failure_alert(db_engine, "r2", "ValueError: bad", deliver=False)
    assert first is not None and again == first, "one live episode"
    with db_engine.connect() as conn:
        row = alerts_repo.get_alert(conn, first)
    assert row is not None
    assert (row["rule_id"], row["kind"], row["scope_kind"], row["scope_value"]) == (
        RETRAIN_FAILED.id,
        "retrain",
        "all",
        "retrain",
    )
    assert (row["severity"], row["status"], row["value"]) == ("critical", "open", 2.0)
    assert row["details"]["run_id"] == "r2" and row["details"]["error"] == "ValueError: bad"
    assert resolve_failure_alert(db_engine, "r3") == first
    with db_engine.connect() as conn:
        done = alerts_repo.get_alert(conn, first)
    assert done is not None and done["status"] == "resolved"
    assert done["details"]["resolved_by_run"] == "r3"
    assert sorted(_deliveries(db_engine)) == ["opened", "resolved", "updated"]
    assert resolve_failure_alert(db_engine, "r4") is None
    reopened = raise_failure_alert(db_engine, "r5", "OSError: disk", deliver=False)
    assert reopened is not None and reopened != first, "a new episode after the resolution"
