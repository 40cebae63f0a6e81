"""Webhook signatures: verify with the shared secret, fail with another, reject replays."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from finsent.alerts.signing import sign, signature_headers, verify_signature
from finsent.alerts.webhooks import RetryPolicy, render_payload, subscription_matches
from finsent.core.alerts import AlertPayload

BODY = b'{"event":"opened","alert":{"id":1}}'
NOW = 1_712_345_678.0


def test_signature_verifies_with_the_shared_secret() -> None:
    h = signature_headers("shared", BODY, now=NOW)
    assert h["X-Finsent-Signature"].startswith("v1=")
    assert verify_signature("shared", h["X-Finsent-Timestamp"], BODY, h["X-Finsent-Signature"], now=NOW)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now", "why"),
    [
        ("other", NOW, BODY, NOW, "wrong secret"),
        ("shared", NOW, BODY + b" ", NOW, "tampered body"),
        ("shared", NOW + 1, BODY, NOW, "timestamp changed after signing"),
        ("shared", NOW, BODY, NOW + 301, "replay after the tolerance"),
        ("shared", NOW, BODY, NOW - 301, "timestamp from the future"),
    ],
)
def test_signature_rejects(secret: str, timestamp: float, body: bytes, now: float, why: str) -> None:
    signature = sign("shared", int(NOW), BODY)
    assert not verify_signature(secret, str(int(timestamp)), body, signature, 300, now=now), why


@pytest.mark.parametrize("header", [None, "", "sha1=abc", "v1=", "nonsense", "v1=zz"])
def test_malformed_signature_headers_are_false(header: str | None) -> None:
    assert not verify_signature("shared", str(int(NOW)), BODY, header, now=NOW)


@pytest.mark.parametrize("ts", [None, "", "yesterday", "1.5"])
def test_malformed_timestamps_are_false(ts: str | None) -> None:
    assert not verify_signature("shared", ts, BODY, sign("shared", int(NOW), BODY), now=NOW)


def test_rotated_secrets_any_signature_matches() -> None:
    both = f"{sign('old', int(NOW), BODY)}, {sign('new', int(NOW), BODY)}"
    assert verify_signature("new", str(int(NOW)), BODY, both, now=NOW)
    assert verify_signature("old", str(int(NOW)), BODY.decode(), both, now=NOW)


T = datetime(2024, 5, 6, 9, tzinfo=UTC)
ROW = {
    "id": 7,
    "rule_id": "r1",
    "kind": "threshold",
    "scope_kind": "entity",
    "scope_value": "TSLA",
    "severity": "warning",
    "status": "open",
    "opened_at": T,
    "window_start": T,
    "window_end": T,
    "value": 0.8,
    "baseline": 0.2,
    "statistic": None,
    "details": {"checked_until": T.isoformat()},
}
ALERT = AlertPayload.from_row(ROW)


@pytest.mark.parametrize(
    ("filters", "event", "matches"),
    [
        ({}, "opened", True),
        ({}, "updated", True),
        ({}, "resolved", False),  # resolutions are opt-in
        ({"events": ["opened", "resolved"]}, "resolved", True),
        ({"rules": ["r1"]}, "opened", True),
        ({"rules": ["r2"]}, "opened", False),
        ({"severities": ["critical"]}, "opened", False),
        ({"min_severity": "warning"}, "opened", True),
        ({"min_severity": "critical"}, "opened", False),
        ({"scopes": ["entity:TSLA"]}, "opened", True),
        ({"scopes": ["entity:*"]}, "opened", True),
        ({"scopes": ["entity"]}, "opened", True),
        ({"scopes": ["entity:AAPL", "topic:*"]}, "opened", False),
        ({"rules": ["nope"]}, "test", True),
    ],
)
def test_subscription_filters(filters: dict[str, object], event: str, matches: bool) -> None:
    assert subscription_matches(filters, event, ALERT) is matches


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay_s=2, max_delay_s=60)
    rng = random.Random(1)
    for attempt, raw in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (9, 60)]:
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(raw * 0.5 <= d <= raw for d in delays)
        assert len({round(d, 6) for d in delays}) > 1  # jittered


def test_slack_payload_has_text_and_article_links() -> None:
    top = [{"title": "Recall", "url": "https://x.test/a", "score": -0.9}]
    alert = AlertPayload.from_row({**ROW, "details": {**ROW["details"], "top_articles": top}})
    slack = render_payload("slack", "opened", alert)
    assert "r1 opened" in slack["text"] and "TSLA" in slack["text"]
    assert "<https://x.test/a|Recall>" in slack["blocks"][1]["text"]["text"]
    plain = render_payload("json", "opened", alert)
    assert plain["alert"] == alert.webhook_alert() and plain["top_articles"][0]["title"] == "Recall"


def test_webhook_alert_keeps_the_wire_shape() -> None:
    top = [{"title": "Recall", "url": None, "score": -0.9}]
    details = {**ROW["details"], "top_articles": top}
    alert = AlertPayload.from_row({**ROW, "details": details}, description="d")
    assert render_payload("json", "opened", alert) == {
        "event": "opened",
        "alert": {
            "id": 7,
            "rule_id": "r1",
            "kind": "threshold",
            "description": "d",
            "severity": "warning",
            "status": "open",
            "scope": {"kind": "entity", "value": "TSLA"},
            "opened_at": T.isoformat(),
            "window_start": T.isoformat(),
            "window_end": T.isoformat(),
            "value": 0.8,
            "baseline": 0.2,
            "statistic": None,
            "details": {"checked_until": T.isoformat()},
            "top_articles": top,
        },
        "top_articles": top,
    }
    record = alert.to_record("opened", at=T)
    assert (record.alert_id, record.rule_kind, record.scope_value) == (7, "threshold", "TSLA")
    assert record.value == 0.8 and record.at == T
    assert record.details == {
        "status": "open",
        "details": {"checked_until": T.isoformat()},
        "top_articles": top,
    }
