"""Webhook delivery against real local receivers and the real embedded PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from finsent.alerts.signing import verify_signature
from finsent.alerts.webhooks import DeliveryWorker, RetryPolicy
from finsent.core.netguard import AddressPolicy
from finsent.storage import alerts_repo, webhooks_repo
from tests.support.webhook_receiver import WebhookReceiver

#: The receivers of these tests listen on loopback, which only an explicit allow-list reaches.
LOCAL = AddressPolicy.for_webhooks(["127.0.0.0/8"])
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.1)
NOW = datetime(2024, 3, 4, 12, tzinfo=UTC)


def _alert(conn: object) -> int:
    values = {
        "rule_id": "r1",
        "kind": "negative_surge",
        "scope_kind": "entity",
        "scope_value": "TSLA",
        "severity": "warning",
        "opened_at": NOW,
        "window_start": NOW,
        "window_end": NOW,
        "value": 0.8,
    }
    return alerts_repo.insert_alert(conn, values)  # type: ignore[arg-type]


def _setup(engine: Engine, *urls: str, secret: str = "s3cret") -> int:
    with engine.begin() as conn:
        alert_id = _alert(conn)
        for url in urls:
            sub = webhooks_repo.add_subscription(conn, url, secret)
            webhooks_repo.enqueue_delivery(
                conn, sub, alert_id, "opened", {"event": "opened", "alert": {"id": alert_id}}
            )
    return alert_id


def _drain(worker: DeliveryWorker, rounds: int = 40) -> None:
    async def go() -> None:
        for _ in range(rounds):
            await worker.run_once()
            with worker.engine.connect() as conn:
                if not webhooks_repo.list_deliveries(conn, status="pending"):
                    return
            await asyncio.sleep(0.05)

    asyncio.run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_signed_delivery_verifies_with_shared_secret_only(db_engine: Engine) -> None:
    with WebhookReceiver(secret="s3cret") as receiver:
        _setup(db_engine, receiver.url)
        _drain(DeliveryWorker(db_engine, guard=LOCAL, policy=FAST, timeout_s=2))
    [req] = receiver.requests
    assert req.verified
    ts, sig = req.headers["X-Finsent-Timestamp"], req.headers["X-Finsent-Signature"]
    assert verify_signature("s3cret", ts, req.body, sig)
    assert not verify_signature("another", ts, req.body, sig)
    assert req.json["event"] == "opened" and req.headers["X-Finsent-Event"] == "opened"


def test_500_then_200_is_delivered_after_retries_with_attempts_logged(db_engine: Engine) -> None:
    with WebhookReceiver(script=[500, 503]) as receiver:
        _setup(db_engine, receiver.url)
        _drain(
            DeliveryWorker(
                db_engine, guard=LOCAL, policy=RetryPolicy(max_attempts=5, base_delay_s=0.05), timeout_s=2
            )
        )
    with db_engine.connect() as conn:
        [delivery] = webhooks_repo.list_deliveries(conn)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 503, 200]
    assert delivery["attempt_log"][0]["error"].startswith("HTTP 500")
    assert len({r.headers["X-Finsent-Delivery"] for r in receiver.requests}) == 1
    assert all(r.verified for r in receiver.requests)


def test_receiver_down_fails_after_budget_others_unaffected(db_engine: Engine) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/hook"
    with WebhookReceiver() as alive:
        alert_id = _setup(db_engine, dead, alive.url)
        _drain(DeliveryWorker(db_engine, guard=LOCAL, policy=FAST, timeout_s=1))
    assert len(alive.requests) == 1
    with db_engine.connect() as conn:
        by_url = {d["url"]: d for d in webhooks_repo.list_deliveries(conn)}
        listed = alerts_repo.list_alerts(conn)
    assert by_url[dead]["status"] == "failed" and by_url[dead]["attempts"] == FAST.max_attempts
    assert "ConnectError" in by_url[dead]["last_error"]
    assert by_url[alive.url]["status"] == "delivered"
    assert listed[0]["id"] == alert_id and listed[0]["deliveries"] == {"failed": 1, "delivered": 1}


def test_slow_receiver_does_not_block_others(db_engine: Engine) -> None:
    with WebhookReceiver() as fast, WebhookReceiver(delay_s=3.0) as slow:
        _setup(db_engine, slow.url, fast.url)
        worker = DeliveryWorker(db_engine, guard=LOCAL, policy=FAST, timeout_s=1, concurrency=1)
        seen_after: list[float] = []

        async def go() -> None:
            started = time.monotonic()
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            while not fast.requests and time.monotonic() - started < 10:
                await asyncio.sleep(0.02)
            seen_after.append(time.monotonic() - started)
            stop.set()
            await task

        asyncio.run(go())
    assert fast.requests and fast.requests[0].verified
    # concurrency 1: the fast receiver waited only for the slow one's timeout (1s), not its 3s
    assert seen_after[0] < 2.5


def test_restart_resumes_pending_deliveries(db_engine: Engine) -> None:
    with WebhookReceiver(script=[500]) as receiver:
        _setup(db_engine, receiver.url)
        first = DeliveryWorker(
            db_engine, guard=LOCAL, policy=RetryPolicy(max_attempts=4, base_delay_s=0.05), timeout_s=2
        )
        asyncio.run(first.run_once())  # one failed attempt, then the process "dies"
        with db_engine.connect() as conn:
            [pending] = webhooks_repo.list_deliveries(conn)
        assert pending["status"] == "pending" and pending["attempts"] == 1
        _drain(
            DeliveryWorker(
                db_engine, guard=LOCAL, policy=RetryPolicy(max_attempts=4, base_delay_s=0.05), timeout_s=2
            )
        )
    with db_engine.connect() as conn:
        [done] = webhooks_repo.list_deliveries(conn)
    assert done["status"] == "delivered" and done["attempts"] == 2


def test_4xx_fails_at_once(db_engine: Engine) -> None:
    with WebhookReceiver(default_status=410) as receiver:
        _setup(db_engine, receiver.url)
        _drain(DeliveryWorker(db_engine, guard=LOCAL, policy=FAST, timeout_s=2))
    with db_engine.connect() as conn:
        [delivery] = webhooks_repo.list_deliveries(conn)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1 and len(receiver.requests) == 1


@pytest.mark.parametrize("fmt", ["json", "slack"])
def test_cli_test_webhook(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from finsent.cli import app

    monkeypatch.setenv("FINSENT_ALERTS__WEBHOOK_ALLOW", '["127.0.0.1/32"]')

    with WebhookReceiver(secret="topsecret") as receiver:
        result = CliRunner().invoke(
            app, ["alerts", "test-webhook", receiver.url, "--secret", "topsecret", "--format", fmt]
        )
    assert result.exit_code == 0, result.output
    assert "200" in result.output
    [req] = receiver.requests
    assert req.verified and req.headers["X-Finsent-Event"] == "test"
    assert ("text" in req.json) is (fmt == "slack")


def test_default_policy_refuses_loopback_receivers_without_sending(db_engine: Engine) -> None:
    """Without an allow-list a subscription pointing inside (here: loopback) is never called:
    the delivery fails at once, with the reason, and the receiver sees nothing."""
    with WebhookReceiver() as receiver:
        _setup(db_engine, receiver.url)
        _drain(DeliveryWorker(db_engine, policy=FAST, timeout_s=2))
    with db_engine.connect() as conn:
        [delivery] = webhooks_repo.list_deliveries(conn)
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert "non-public address 127.0.0.1" in (delivery["last_error"] or "")
    assert receiver.requests == []


def test_redirects_are_not_followed(db_engine: Engine) -> None:
    """A receiver answering 302 to an internal address does not make finsent call it."""
    with WebhookReceiver() as inner, WebhookReceiver(default_status=302, location=inner.url) as outer:
        _setup(db_engine, outer.url)
        _drain(DeliveryWorker(db_engine, guard=LOCAL, policy=FAST, timeout_s=2))
    with db_engine.connect() as conn:
        [delivery] = webhooks_repo.list_deliveries(conn)
    assert delivery["status"] == "failed" and len(outer.requests) == 3
    assert inner.requests == []


def test_cli_refuses_internal_webhook_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    from finsent.cli import app

    result = CliRunner().invoke(
        app, ["alerts", "test-webhook", "http://169.254.169.254/latest/meta-data", "--secret", "x" * 16]
    )
    assert result.exit_code == 65 and "non-public address 169.254.169.254" in result.output
