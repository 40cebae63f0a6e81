"""Replay of CSV/JSONL corpora, the scheduler loop, and the CLI commands."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from finsent.cli import app
from finsent.core.records import ArticleRecord
from finsent.core.settings import Settings
from finsent.ingest import (
    DemoFeed,
    build_crawler,
    load_records,
    parse_sources,
    publish_records,
    replay,
    run_scheduled,
    write_corpus,
)
from finsent.storage.schema import Article, DeadLetter
from finsent.storage.schema import Source as SourceRow
from finsent.stream.topics import Topics

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 6, 14, 0, tzinfo=UTC)


def _corpus(tmp_path: Path, n: int = 40) -> Path:
    path = tmp_path / "corpus.jsonl"
    write_corpus(path, DemoFeed(seed=11).generate(n, T0))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{broken json\n")
        handle.write(json.dumps({"id": "x", "title": "", "body": ""}) + "\n")
    return path


def _count(engine: Engine, table: Any = Article, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_replay_through_the_outbox_is_idempotent(
    tmp_path: Path,
    db_engine: Engine,
    topic_factory: Callable[..., str],
    consume: Callable[..., list[Any]],
    embedded_stack: Any,
) -> None:
    path = _corpus(tmp_path)
    topic = topic_factory(partitions=2)
    first = replay(
        path, bootstrap=embedded_stack.kafka_bootstrap, topic=topic, engine=db_engine, source_id="bf"
    )
    assert (first.read, first.new, first.bad, first.published, first.unpublished) == (42, 40, 2, 40, 0)
    assert _count(db_engine, DeadLetter, DeadLetter.source == "bf") == 2

    second = replay(
        path, bootstrap=embedded_stack.kafka_bootstrap, topic=topic, engine=db_engine, source_id="bf"
    )
    assert (second.new, second.duplicates, second.published) == (0, 40, 0)

    salted = replay(
        path,
        bootstrap=embedded_stack.kafka_bootstrap,
        topic=topic,
        engine=db_engine,
        id_salt="run-2",
        limit=10,
    )
    assert (salted.new, salted.published) == (10, 10)  # a fresh salt replays the corpus again (load tests)

    messages = consume(embedded_stack.kafka_bootstrap, topic, want=50)
    assert len(messages) == 50
    records = [ArticleRecord.from_bytes(m.value) for m in messages]
    assert all(m.key == r.id.encode() for m, r in zip(messages, records, strict=True))
    assert _count(db_engine, Article, Article.emitted_at.is_(None)) == 0


def test_replay_without_a_database_and_paced_publishing(
    tmp_path: Path, topic_factory: Callable[..., str], consume: Callable[..., list[Any]], embedded_stack: Any
) -> None:
    path = _corpus(tmp_path, n=30)
    topic = topic_factory()
    stats = replay(path, bootstrap=embedded_stack.kafka_bootstrap, topic=topic, detect_languages=False)
    assert (stats.new, stats.bad, stats.published) == (30, 2, 30)

    records = load_records(path, source_id="bench", id_salt="paced")
    assert len(records) == 30 and all(r.source_id == "bench" for r in records)
    started = time.monotonic()
    paced = publish_records(
        records[:20], bootstrap=embedded_stack.kafka_bootstrap, topic=topic, rate_per_s=40
    )
    assert paced.published == 20
    assert time.monotonic() - started >= 19 / 40  # 20 messages at 40/s take at least ~0.5 s
    assert len(consume(embedded_stack.kafka_bootstrap, topic, want=50)) == 50


def test_scheduled_crawl_publishes_and_stops_gracefully(
    db_engine: Engine,
    settings_factory: Callable[..., Settings],
    topic_factory: Callable[..., str],
    embedded_stack: Any,
) -> None:
    sources = parse_sources(
        {"sources": [{"id": "demo", "kind": "demo", "interval_s": 0.5, "rate_per_min": 600, "seed": 3}]}
    )
    topic = topic_factory()
    stop = threading.Event()
    crawler = build_crawler(
        sources,
        settings=settings_factory(),
        engine=db_engine,
        bootstrap=embedded_stack.kafka_bootstrap,
        topic=topic,
        stop=stop,
        detect_languages=False,
    )
    summaries: list[Any] = []
    thread = threading.Thread(
        target=run_scheduled, args=(crawler, stop), kwargs={"on_summary": summaries.append}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(summaries) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(summaries) >= 3 and sum(s.new for s in summaries) > 0
    assert _count(db_engine) == sum(s.new for s in summaries)
    assert _count(db_engine, Article, Article.emitted_at.is_(None)) == 0  # drained before exit
    with db_engine.connect() as conn:
        assert conn.execute(select(SourceRow.kind).where(SourceRow.id == "demo")).scalar_one() == "demo"


@pytest.fixture
def cli_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedded_stack: Any, db_engine: Engine
) -> Settings:
    prefix = f"t{time.monotonic_ns()}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FINSENT_DATABASE_URL", embedded_stack.database_url)
    monkeypatch.setenv("FINSENT_KAFKA_BOOTSTRAP", embedded_stack.kafka_bootstrap)
    monkeypatch.setenv("FINSENT_KAFKA__TOPIC_PREFIX", prefix)
    monkeypatch.setenv("FINSENT_KAFKA__TOPIC_PARTITIONS", "1")
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINSENT_INGEST__ALLOW_PRIVATE_ADDRESSES", "true")
    return Settings.load()


def test_cli_crawl_once_replay_and_sources(
    tmp_path: Path,
    cli_env: Settings,
    db_engine: Engine,
    consume: Callable[..., list[Any]],
    embedded_stack: Any,
) -> None:
    runner = CliRunner()
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - {id: demo, kind: demo, rate_per_min: 120, seed: 5, interval_s: 60}\n"
        "  - {id: bad, kind: rss, url: 'http://127.0.0.1:9/feed'}\n",
        encoding="utf-8",
    )
    checked = runner.invoke(app, ["sources", "check", str(sources)])
    assert checked.exit_code == 0, checked.output
    assert "demo" in checked.output and "bad" in checked.output

    result = runner.invoke(app, ["crawl", "--once", "--sources", str(sources)])
    assert result.exit_code == 0, result.output
    assert "crawl summary" in result.output and "published:" in result.output
    stored = _count(db_engine)
    assert stored > 0 and f"published: {stored}" in result.output
    topic = Topics(cli_env.kafka.topic_prefix).raw_articles
    assert len(consume(embedded_stack.kafka_bootstrap, topic, want=stored)) == stored

    corpus = tmp_path / "demo.jsonl"
    made = runner.invoke(
        app, ["demo-feed", "--minutes", "2", "--event", "ACMR,+30s,1m,negative", "--out", str(corpus)]
    )
    assert made.exit_code == 0, made.output and "planted" in made.output
    replayed = runner.invoke(app, ["replay", str(corpus), "--rate", "500/s", "--no-languages"])
    assert replayed.exit_code == 0, replayed.output
    assert "published" in replayed.output and _count(db_engine) > stored

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("sources:\n  - {id: x, kind: rss, url: 'gopher://x'}\n", encoding="utf-8")
    failed = runner.invoke(app, ["crawl", "--once", "--sources", str(invalid)])
    assert failed.exit_code == 2 and "sources[0] (id 'x').url" in failed.output.replace("\n", "")
