"""Per-entity alerts on entity-level, relevance-weighted aggregates, end to end on the real stack.

A JSONL corpus is replayed through ingest (normalise, tag entities with spans and relevance,
store, outbox) to the broker; a real ``finsent worker`` scores it into PostgreSQL (entity-level
sentiment where the model has an entity head, relevance-weighted ``agg_entity``); the bundled
rules (sliding one-minute windows) then run over it on the database. Microsoft is first only a
passing mention, late in the body, of a burst of negative stories about Boeing, in a positive
light; later it is the subject of a negative burst of its own. Its alert must open for the
second burst only, while Boeing's opens for the first (so the first burst was strong enough).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from finsent.alerts.rules import load_rules
from finsent.alerts.service import build_engine
from finsent.core.settings import Settings
from finsent.ingest.replay import replay
from finsent.models.labels import TOPIC_LABELS
from finsent.storage import alerts_repo
from finsent.stream.topics import Topics
from tests.support.stream_harness import WorkerProcess, build_model_version, promote_version, wait_for_scores

pytestmark = [pytest.mark.slow]

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"
WORKER_OPTIONS = ["--batch-size", "32", "--batch-window", "200ms", "--session-timeout", "6s"]
WAIT_S = 420.0  # generous: these machines are shared
_BOEING_BAD = [
    "Boeing shares plunge after regulators ground its {n} jets",
    "Boeing stock tumbles as {n} more delivery delays hit the planemaker",
    "Boeing slumps after a {n}% drop in orders and a widening loss",
    "Boeing sinks as safety probe widens to {n} aircraft",
    "Boeing cuts its delivery forecast for the {n}th time, shares slide",
]
_BOEING_BODY = (
    "Boeing said the problems would take weeks to fix and warned of lower cash flow this year. "
    "Airlines said they would seek compensation. Analysts cut their price targets on the stock. "
    "In other news, Microsoft reported record cloud sales and raised its outlook."
)
_MSFT_GOOD = "Microsoft beats estimates as cloud revenue climbs {n}%"
_MSFT_BAD = [
    "Microsoft shares plunge after a {n}% revenue miss",
    "Microsoft slumps as regulators open antitrust probe number {n}",
    "Microsoft warns of {n}% lower profit, stock tumbles",
    "Microsoft cuts {n},000 jobs as cloud growth stalls, shares sink",
]


@pytest.fixture(scope="module")
def shipped_model() -> Path:
    """The shipped default model (its sentiment matters here), cached like the pipeline e2e's."""
    manifest = SHIPPED / "finsent_model.json"
    key = hashlib.sha256(manifest.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("FINSENT_TEST_MODEL_CACHE", Path.home() / ".cache/finsent/test-models"))
    return build_model_version(cache / key / "e2e-v1", "e2e-v1", source=SHIPPED)


def _item(i: int, title: str, body: str, at: datetime) -> dict[str, Any]:
    return {
        "id": f"ent-{i}",
        "title": title,
        "body": body,
        "url": f"https://news.example.com/ent/{i}",
        "published_at": at.isoformat(),
    }


def _corpus(t0: datetime) -> list[dict[str, Any]]:
    """Quiet positive Microsoft news; Boeing burst at t0+60m; Microsoft's own burst at t0+100m."""
    items: list[dict[str, Any]] = []
    for k in range(24):  # baseline: Microsoft as subject, positive, one story every 5 minutes
        items.append(
            _item(
                len(items),
                _MSFT_GOOD.format(n=10 + k),
                "Microsoft said demand stayed strong.",
                t0 + timedelta(minutes=5 * k, seconds=7),
            )
        )
    for k in range(22):  # 2 a minute for 11 minutes: Boeing the subject, Microsoft a passing mention
        title = _BOEING_BAD[k % len(_BOEING_BAD)].format(n=k + 3)
        items.append(_item(len(items), title, _BOEING_BODY, t0 + timedelta(minutes=60, seconds=30 * k + 5)))
    for k in range(22):  # 2 a minute for 11 minutes: Microsoft the subject of negative news
        title = _MSFT_BAD[k % len(_MSFT_BAD)].format(n=k + 2)
        body = "Microsoft said it would review its plans. Investors sold the shares."
        items.append(_item(len(items), title, body, t0 + timedelta(minutes=100, seconds=30 * k + 5)))
    return items


def _episodes(alerts: list[dict[str, Any]]) -> dict[str, list[datetime]]:
    out: dict[str, list[datetime]] = {}
    for a in alerts:
        if a["rule_id"] == "entity-negative-surge":
            out.setdefault(a["scope_value"], []).append(a["opened_at"])
    return out


def test_passing_mention_burst_does_not_alert_the_mentioned_company(
    settings_factory: Callable[..., Settings], db_engine: Engine, shipped_model: Path, tmp_path: Path
) -> None:
    settings = settings_factory(create_topics=True)
    promote_version(db_engine, shipped_model, settings.model_store_dir)
    t0 = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    corpus = tmp_path / "entities.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in _corpus(t0)) + "\n", encoding="utf-8")
    assert settings.database_url is not None and settings.kafka_bootstrap is not None
    stats = replay(
        corpus,
        bootstrap=settings.kafka_bootstrap,
        topic=Topics(settings.kafka.topic_prefix).raw_articles,
        engine=db_engine,
        source_id="e2e-entities",
        detect_languages=False,
    )
    assert stats.published == stats.new > 60, stats
    worker = WorkerProcess(
        settings.database_url.get_secret_value(),
        settings.kafka_bootstrap,
        settings.kafka.topic_prefix,
        data_dir=tmp_path / "w1",
        log_path=tmp_path / "w1.log",
        options=WORKER_OPTIONS,
    ).start()
    try:
        with db_engine.connect() as conn:
            rows = conn.execute(text("SELECT id FROM articles WHERE source_id = 'e2e-entities'"))
            ids = [r[0] for r in rows]
        scored = wait_for_scores(db_engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: worker.alive)
        assert scored == len(ids), worker.log_tail()
    finally:
        worker.stop(timeout_s=20)

    with db_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT entity, sum(weight_sum) / sum(n) FROM agg_entity "
                "WHERE bucket >= :a AND bucket < :b GROUP BY entity"
            ),
            {"a": t0 + timedelta(minutes=60), "b": t0 + timedelta(minutes=72)},
        )
        relevance = {str(r[0]): float(r[1]) for r in rows}
    # during Boeing's burst Microsoft is tagged in every story, but as a passing mention
    assert relevance["BA"] > 0.6 and relevance["MSFT"] < 0.5 * relevance["BA"], relevance

    engine = build_engine(db_engine, load_rules(topic_labels=TOPIC_LABELS))
    engine.catch_up(t0 + timedelta(minutes=140), lookback=timedelta(minutes=140))
    with db_engine.connect() as conn:
        episodes = _episodes(alerts_repo.list_alerts(conn))
    [boeing] = episodes.get("BA", [None])
    assert boeing is not None and t0 + timedelta(minutes=60) < boeing <= t0 + timedelta(minutes=72), episodes
    [microsoft] = episodes.get("MSFT", [None])  # one episode: the burst it is the subject of
    assert microsoft is not None and t0 + timedelta(minutes=100) < microsoft <= t0 + timedelta(minutes=112)
