"""Aggregate queries per scope kind, and the `finsent alerts` / `finsent rules` commands."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from finsent.alerts.publisher import KafkaAlertPublisher
from finsent.alerts.rules import parse_rules
from finsent.alerts.service import build_engine
from finsent.cli import app
from finsent.core.records import AlertRecord
from finsent.core.settings import Settings
from finsent.storage import alerts_repo, scope_sums, webhooks_repo
from finsent.storage.aggregates import refresh_buckets
from finsent.storage.schema import Article, Score

T = datetime(2024, 5, 6, 9, tzinfo=UTC)
RULES = """
rules:
  - {id: src-neg, kind: threshold, scope: {kind: source, value: "*"}, window: 15m,
     metric: negative_share, op: ">", value: 0.5, min_count: 2}
"""


def _article(i: int, minute: int, source: str, ticker: str, sentiment: str, topic: int) -> tuple[dict, dict]:
    aid = f"a{i}"
    score = {"negative": -0.9, "neutral": 0.0, "positive": 0.8}[sentiment]
    published = T + timedelta(minutes=minute)
    art = {
        "id": aid,
        "source_id": source,
        "url": f"https://n.test/{aid}",
        "title": f"title {aid}",
        "published_at": published,
        "content_hash": aid,
        "tickers": [ticker],
    }
    sc = {
        "article_id": aid,
        "model_version": "m1",
        "topic": topic,
        "topic_label": str(topic),
        "topic_probs": [0.05] * 20,
        "sentiment": sentiment,
        "sentiment_probs": [0.3, 0.4, 0.3],
        "score": score,
        "confidence": 0.9,
        "published_at": published,
    }
    return art, sc


@pytest.fixture
def seeded(db_engine: Engine) -> Engine:
    spec = [
        (0, "wire", "AAA", "negative", 5),
        (1, "wire", "AAA", "negative", 5),
        (2, "blog", "BBB", "positive", 1),
        (16, "wire", "AAA", "neutral", 5),
        (17, "blog", "AAA", "negative", 2),
    ]
    pairs = [_article(i, *s) for i, s in enumerate(spec)]
    with db_engine.begin() as conn:
        conn.execute(insert(Article), [a for a, _ in pairs])
        conn.execute(insert(Score), [s for _, s in pairs])
        refresh_buckets(conn, [a["published_at"] for a, _ in pairs])
    return db_engine


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("entity", None, {"AAA": (2, 2), "BBB": (1, 0)}),
        ("entity", ["BBB"], {"BBB": (1, 0)}),
        ("topic", None, {"5": (2, 2), "1": (1, 0)}),
        ("all", None, {"*": (3, 2)}),
        ("source", None, {"wire": (2, 2), "blog": (1, 0)}),
    ],
)
def test_scope_totals_first_window(
    seeded: Engine, kind: str, values: list[str] | None, expected: dict[str, tuple[int, int]]
) -> None:
    with seeded.connect() as conn:
        got = scope_sums.scope_totals(conn, kind, T, T + timedelta(minutes=15), values)
    assert {v: (int(c["n"]), int(c["n_negative"])) for v, c in got.items()} == expected


def test_scope_series_and_top_articles(seeded: Engine) -> None:
    with seeded.connect() as conn:
        series = scope_sums.scope_series(conn, "entity", T, timedelta(minutes=15), 2, ["AAA"])
        top = scope_sums.top_articles(conn, "entity", "AAA", T, T + timedelta(minutes=30), limit=2)
        by_source = scope_sums.top_articles(
            conn, "source", "blog", T, T + timedelta(minutes=30), order="positive"
        )
    assert {i: int(c["n"]) for i, c in series["AAA"].items()} == {0: 2, 1: 2}
    assert [a["score"] for a in top] == [-0.9, -0.9] and top[0]["url"].startswith("https://n.test/")
    assert [a["id"] for a in by_source] == ["a2", "a4"]


def test_source_scope_rule_fires_on_the_real_database(seeded: Engine) -> None:
    engine = build_engine(seeded, parse_rules(RULES))
    events = engine.catch_up(T + timedelta(minutes=30), lookback=timedelta(minutes=30))
    assert [(e.event, e.state.scope_value) for e in events] == [("opened", "wire"), ("resolved", "wire")]


def test_alert_events_are_published_to_the_alerts_topic(
    seeded: Engine, topic_factory: Callable[..., str], embedded_stack: object
) -> None:
    from kafka import KafkaConsumer, TopicPartition

    topic = topic_factory()
    bootstrap = embedded_stack.kafka_bootstrap  # type: ignore[attr-defined]
    engine = build_engine(seeded, parse_rules(RULES), kafka_bootstrap=bootstrap, alerts_topic=topic)
    engine.catch_up(T + timedelta(minutes=30), lookback=timedelta(minutes=30))
    assert isinstance(engine.publisher, KafkaAlertPublisher)
    engine.publisher.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    records: list[AlertRecord] = []
    try:
        consumer.assign([TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        deadline = time.monotonic() + 30
        while len(records) < 2 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records += [AlertRecord.from_bytes(m.value) for m in batch]
        for batch in consumer.poll(timeout_ms=500).values():  # one more look: a third would be a duplicate
            records += [AlertRecord.from_bytes(m.value) for m in batch]
    finally:
        consumer.close()
    assert [(r.event, r.rule_id, r.scope_value) for r in records] == [
        ("opened", "src-neg", "wire"),
        ("resolved", "src-neg", "wire"),
    ]


def _env(settings: Settings) -> dict[str, str]:
    url = settings.database_url.get_secret_value()  # type: ignore[union-attr]
    # a wide terminal so rich does not wrap the table
    return {
        "FINSENT_DATABASE_URL": url,
        "FINSENT_DATA_DIR": str(settings.data_dir),
        "FINSENT_KAFKA_BOOTSTRAP": "",
        "COLUMNS": "200",
    }


def test_cli_list_shows_failed_deliveries_and_ack(
    db_engine: Engine, settings_factory: Callable[..., Settings]
) -> None:
    with db_engine.begin() as conn:
        values = {
            "rule_id": "r1",
            "kind": "threshold",
            "scope_kind": "entity",
            "scope_value": "TSLA",
            "severity": "critical",
            "opened_at": T,
            "window_start": T,
            "window_end": T,
            "value": 0.9,
        }
        alert_id = alerts_repo.insert_alert(conn, values)
        sub = webhooks_repo.add_subscription(conn, "http://127.0.0.1:9/hook", "x")
        delivery = webhooks_repo.enqueue_delivery(conn, sub, alert_id, "opened", {})
        webhooks_repo.record_attempt(
            conn,
            delivery,
            attempt=6,
            at=T,
            status_code=None,
            error="ConnectError: refused",
            duration_ms=1.0,
            outcome="failed",
        )
    env = _env(settings_factory())
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "TSLA" in listed.output and "failed:1" in listed.output and "ConnectError" in listed.output
    acked = runner.invoke(app, ["alerts", "ack", str(alert_id), "--by", "ana"], env=env)
    assert acked.exit_code == 0, acked.output
    with db_engine.connect() as conn:
        row = alerts_repo.get_alert(conn, alert_id)
    assert row is not None and row["status"] == "acknowledged" and row["acknowledged_by"] == "ana"
    missing = runner.invoke(app, ["alerts", "ack", "999"], env=env)
    assert missing.exit_code == 1 and "no alert with id 999" in missing.output


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "rules:\n  - {id: a, kind: wobble, scope: {kind: all}, window: 15m}\n",
            "unknown rule kind 'wobble'",
        ),
        (
            "rules:\n  - {id: b, kind: negative_surge, scope: {kind: all}, window: -15m}\n",
            "window: must be a positive",
        ),
        (
            "rules:\n"
            "  - {id: c, kind: negative_surge, scope: {kind: topic, value: Horoscopes}, window: 15m}\n",
            "unknown topic 'Horoscopes'",
        ),
    ],
)
def test_cli_rules_check_rejects_bad_files(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / f"{uuid.uuid4().hex}.yaml"
    path.write_text(body)
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 1
    assert expected in " ".join(result.output.split())


def test_cli_rules_check_accepts_the_defaults() -> None:
    from finsent.alerts.rules import default_rules_path

    result = CliRunner().invoke(app, ["rules", "check", str(default_rules_path())])
    assert result.exit_code == 0, result.output
    assert "4 rules valid" in result.output
