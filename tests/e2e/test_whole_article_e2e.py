"""Whole-article and entity scoring end to end: a replayed demo corpus -> `finsent worker` -> PostgreSQL.

The model is a renamed copy of the shipped default (these tests check what the model says, so a
tiny untrained model would not do). The corpus is written as JSONL, normalised and tagged by
ingest's replay code (spans from its tagger) and published to the raw topic.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from benchmarks.pipeline_modes import demo_tagger
from finsent.core.records import ArticleRecord
from finsent.core.settings import Settings
from finsent.ingest.demo import DemoFeed, DemoItem, write_corpus
from finsent.ingest.replay import load_records, publish_records
from finsent.stream.topics import Topics
from tests.support.stream_harness import (
    WorkerProcess,
    build_model_version,
    promote_version,
    stop_workers,
    wait_for_scores,
)

pytestmark = [pytest.mark.slow]

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "default"
WAIT_S = 300.0
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    manifest = SHIPPED / "finsent_model.json"
    key = hashlib.sha256(manifest.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("FINSENT_TEST_MODEL_CACHE", Path.home() / ".cache/finsent/test-models"))
    return build_model_version(cache / key / "wa-v1", "wa-v1", source=SHIPPED)


@dataclasses.dataclass
class Job:
    """A worker started for one corpus; :meth:`finish` publishes the corpus and waits for its scores."""

    worker: WorkerProcess
    records: list[ArticleRecord]
    bootstrap: str
    topic: str
    engine: Engine

    def finish(self) -> list[ArticleRecord]:
        publish_records(self.records, bootstrap=self.bootstrap, topic=self.topic)
        ids = [r.id for r in self.records]
        got = wait_for_scores(self.engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: self.worker.alive)
        assert got == len(ids), self.worker.log_tail()
        return self.records


@pytest.fixture
def start_worker(
    settings_factory: Callable[..., Settings], db_engine: Engine, shipped_model: Path, tmp_path: Path
) -> Iterator[Callable[..., Job]]:
    """``start(items, whole_article=True, salt="") -> Job``: a worker in that mode on a fresh topic
    prefix, with ``items`` normalised and tagged as replay does. Start several, then finish them:
    the workers load their models at the same time."""
    workers: list[WorkerProcess] = []
    store = tmp_path / "models"

    def start(items: list[DemoItem], *, whole_article: bool = True, salt: str = "") -> Job:
        settings = settings_factory(create_topics=True)
        if not workers:  # the registry is the database's: one promotion serves every worker of the test
            promote_version(db_engine, shipped_model, store)
        corpus = tmp_path / f"corpus{len(workers)}.jsonl"
        write_corpus(corpus, items)
        records = load_records(corpus, source_id="demo", tagger=demo_tagger(), id_salt=salt or None)
        assert len(records) == len(items)
        assert settings.database_url is not None and settings.kafka_bootstrap is not None
        worker = WorkerProcess(
            settings.database_url.get_secret_value(),
            settings.kafka_bootstrap,
            settings.kafka.topic_prefix,
            data_dir=tmp_path / f"w{len(workers)}",
            log_path=tmp_path / f"w{len(workers)}.log",
            # a 6 s session: the broker holds a group join for half of it (5 s at the 10 s default)
            options=["--batch-size", "16", "--batch-window", "200ms", "--session-timeout", "6s"],
            env={
                "FINSENT_MODEL_STORE": str(store),
                "FINSENT_STREAM__WHOLE_ARTICLE": str(whole_article).lower(),
            },
        ).start()
        workers.append(worker)
        topic = Topics(settings.kafka.topic_prefix).raw_articles
        return Job(worker, records, settings.kafka_bootstrap, topic, db_engine)

    yield start
    stop_workers(workers)


def _score(engine: Engine, article_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT sentiment, score FROM scores WHERE article_id = :a"), {"a": article_id}
        ).one()


def test_neutral_headline_with_negative_body_is_negative_whole_and_neutral_headline_only(
    start_worker: Callable[..., Job], db_engine: Engine
) -> None:
    feed = DemoFeed(seed=4)
    mixed = feed.mixed_item("ACMR", NOW - timedelta(minutes=2), headline_tone="neutral", body_tone="negative")
    background = feed.generate(6, NOW - timedelta(minutes=10))
    whole = start_worker([mixed, *background])
    headline = start_worker([mixed], whole_article=False, salt="headline")
    records = whole.finish()
    target = next(r for r in records if r.title == mixed.title)
    sentiment, score = _score(db_engine, target.id)
    assert (sentiment, score < -0.2) == ("negative", True), score
    with db_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT idx, char_start, char_end, text, sentiment FROM sentence_scores WHERE article_id = :a"
            ),
            {"a": target.id},
        ).all()
    assert len(rows) >= 8
    assert all(target.body[a:b] == t for _, a, b, t, _ in rows)
    assert sum(1 for *_, s in rows if s == "negative") >= 3

    headline_only = headline.finish()
    sentiment, score = _score(db_engine, headline_only[0].id)
    assert sentiment == "neutral", score
    with db_engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM sentence_scores WHERE article_id = :a"), {"a": headline_only[0].id}
        ).scalar_one()
    assert n == 0


def _two_company_item(when: datetime) -> DemoItem:
    title = (
        "Orchid Pharmaceuticals shares surge to record high as Helix Biotherapeutics plunges on trial failure"
    )
    body = (
        "Orchid Pharmaceuticals (NASDAQ: ORCH) jumped 14% after regulators approved its lead drug. "
        "Helix Biotherapeutics (NASDAQ: HLXB) lost a third of its value after its main trial failed."
    )
    return DemoItem(
        "two-cos-1",
        title,
        body,
        "https://news.demo.finsent.invalid/two-cos-1",
        when,
        (),
        "Stock Movement",
        "neutral",
    )


def test_one_headline_two_companies_with_opposite_news_get_opposite_entity_scores(
    start_worker: Callable[..., Job], db_engine: Engine
) -> None:
    item = _two_company_item(NOW - timedelta(minutes=1))
    records = start_worker([item, *DemoFeed(seed=5).generate(5, NOW - timedelta(minutes=10))]).finish()
    target = next(r for r in records if r.title == item.title)
    assert {"ORCH", "HLXB"} <= {e.ticker for e in target.entities}
    with db_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity, source, score FROM entity_scores WHERE article_id = :a"), {"a": target.id}
        ).all()
    by = {entity: (source, score) for entity, source, score in rows}
    assert by["ORCH"][0] == by["HLXB"][0] == "entity", by
    assert by["ORCH"][1] > 0.2 and by["HLXB"][1] < -0.2, by
