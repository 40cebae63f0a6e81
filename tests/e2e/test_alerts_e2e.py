"""End to end on the real embedded PostgreSQL: scores -> per-minute aggregates -> rules -> alert
lifecycle -> one signed webhook to a local receiver.

A simulated day of quiet news about three tickers raises nothing at default settings; a planted
burst of negative news about one ticker opens exactly one alert within two windows of its start,
sends exactly one webhook, and resolves after the burst ends.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, insert

from finsent.alerts.rules import load_rules
from finsent.alerts.service import build_engine
from finsent.alerts.webhooks import DeliveryWorker, RetryPolicy
from finsent.core.netguard import AddressPolicy
from finsent.models.labels import TOPIC_LABELS
from finsent.storage import alerts_repo, webhooks_repo
from finsent.storage.aggregates import refresh_buckets
from finsent.storage.schema import Article, Score
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.slow]

DAY0 = datetime(2024, 5, 6, tzinfo=UTC)  # history day; the evaluated "quiet day" is DAY0 + 1d
BURST_START = DAY0 + timedelta(days=1, hours=14, minutes=7)
BURST_MINUTES = 30


def _rows(
    rng: np.random.Generator, ticker: str, start: datetime, minutes: int, rate: float, p_neg: float, tag: str
) -> list[dict[str, Any]]:
    out = []
    for m in np.flatnonzero(rng.random(minutes) < rate):
        sentiment = (
            "negative" if rng.random() < p_neg else str(rng.choice(["neutral", "positive"], p=[0.7, 0.3]))
        )
        score = {"negative": -0.8, "neutral": 0.0, "positive": 0.7}[sentiment] + float(rng.normal(0, 0.05))
        published = start + timedelta(minutes=int(m), seconds=int(rng.integers(0, 60)))
        out.append(
            {
                "id": f"{tag}-{ticker}-{m}",
                "ticker": ticker,
                "published_at": published,
                "sentiment": sentiment,
                "score": max(-1.0, min(1.0, score)),
                "topic": int(rng.integers(0, 20)),
            }
        )
    return out


def _insert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    articles = [
        {
            "id": r["id"],
            "source_id": "demo",
            "url": f"https://news.test/{r['id']}",
            "content_hash": r["id"],
            "title": f"{r['ticker']} {r['sentiment']} headline {r['id']}",
            "published_at": r["published_at"],
            "tickers": [r["ticker"]],
        }
        for r in rows
    ]
    probs = {"negative": [0.85, 0.1, 0.05], "neutral": [0.1, 0.8, 0.1], "positive": [0.05, 0.15, 0.8]}
    scores = [
        {
            "article_id": r["id"],
            "model_version": "sim",
            "topic": r["topic"],
            "topic_label": TOPIC_LABELS[r["topic"]],
            "topic_probs": [0.05] * 20,
            "sentiment": r["sentiment"],
            "sentiment_probs": probs[r["sentiment"]],
            "score": r["score"],
            "confidence": 0.8,
            "published_at": r["published_at"],
        }
        for r in rows
    ]
    with engine.begin() as conn:
        conn.execute(insert(Article), articles)
        conn.execute(insert(Score), scores)
        refresh_buckets(conn, [r["published_at"] for r in rows])


def _quiet_two_days(seed: int = 11) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for ticker, rate in (("AAA", 0.08), ("BBB", 0.05), ("CCC", 0.03)):  # 115, 72, 43 articles a day
        rows += _rows(rng, ticker, DAY0, 2 * 1440, rate, 0.2, "q")
    return rows


def _run_day(engine: Engine, receiver_url: str) -> tuple[list[dict[str, Any]], list[Any]]:
    rules = load_rules(topic_labels=TOPIC_LABELS)
    with engine.begin() as conn:
        webhooks_repo.add_subscription(conn, receiver_url, "e2e-secret")
    alert_engine = build_engine(engine, rules)
    alert_engine.catch_up(DAY0 + timedelta(days=1), lookback=timedelta(0))
    watermark = DAY0 + timedelta(days=1)
    while watermark < DAY0 + timedelta(days=2):  # the stream closes a window every 15 minutes
        watermark += timedelta(minutes=15)
        alert_engine.advance(watermark)
    worker = DeliveryWorker(
        engine,
        guard=AddressPolicy(allow=("127.0.0.0/8",)),
        policy=RetryPolicy(max_attempts=3, base_delay_s=0.05),
        timeout_s=5,
    )
    outcomes = asyncio.run(worker.run_once())
    with engine.connect() as conn:
        return alerts_repo.list_alerts(conn), outcomes


def test_quiet_day_raises_no_alert(db_engine: Engine) -> None:
    _insert(db_engine, _quiet_two_days())
    with WebhookReceiver(secret="e2e-secret") as receiver:
        alerts, outcomes = _run_day(db_engine, receiver.url)
    assert alerts == [] and outcomes == [] and receiver.requests == []


def test_negative_burst_one_alert_one_webhook_then_resolved(db_engine: Engine) -> None:
    rng = np.random.default_rng(5)
    burst = _rows(rng, "BBB", BURST_START, BURST_MINUTES, 0.9, 0.85, "burst")
    _insert(db_engine, _quiet_two_days() + burst)
    with WebhookReceiver(secret="e2e-secret") as receiver:
        alerts, outcomes = _run_day(db_engine, receiver.url)

    [alert] = alerts
    assert (alert["rule_id"], alert["scope_kind"], alert["scope_value"]) == (
        "entity-negative-surge",
        "entity",
        "BBB",
    )
    window = timedelta(minutes=15)
    assert BURST_START < alert["opened_at"] <= BURST_START + 2 * window
    assert alert["status"] == "resolved"
    assert alert["resolved_at"] > BURST_START + timedelta(minutes=BURST_MINUTES)
    assert alert["value"] > 0.6 and alert["baseline"] < 0.35 and alert["statistic"] > 3
    top = alert["details"]["top_articles"]
    assert top and all(a["id"].startswith(("burst-BBB", "q-BBB")) for a in top)
    assert {"title", "url", "score", "sentiment"} <= set(top[0]) and top[0]["score"] < -0.5

    [request] = receiver.requests
    assert request.verified and request.json["event"] == "opened"
    assert request.json["alert"]["id"] == alert["id"] and request.json["top_articles"]
    assert [o.outcome for o in outcomes] == ["delivered"]
    assert alert["deliveries"] == {"delivered": 1}
