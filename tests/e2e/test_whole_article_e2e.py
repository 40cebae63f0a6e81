"""Whole-article and entity scoring end to end: a replayed demo corpus -> `finsent worker` -> PostgreSQL.

The model is a renamed copy of the shipped default (these tests check what the model says, so a
tiny untrained model would not do). The corpus is written as JSONL, normalised and tagged by
ingest's replay code (spans from its tagger) and published to the raw topic.
"""

from __future__ import annotations

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
from tests.support.stream_harness import WorkerProcess, build_model_version, promote_version, wait_for_scores

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


@pytest.fixture
def run_worker(
    settings_factory: Callable[..., Settings], db_engine: Engine, shipped_model: Path, tmp_path: Path
) -> Iterator[Callable[..., list[ArticleRecord]]]:
    """``run(items, whole_article=True, salt="") -> records``: replay ``items`` to a fresh topic
    prefix, score them with a worker in that mode, return the records once all are stored."""
    workers: list[WorkerProcess] = []
    store = tmp_path / "models"

    def run(items: list[DemoItem], *, whole_article: bool = True, salt: str = "") -> list[ArticleRecord]:
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
            options=["--batch-size", "16", "--batch-window", "200ms"],
            env={
                "FINSENT_MODEL_STORE": str(store),
                "FINSENT_STREAM__WHOLE_ARTICLE": str(whole_article).lower(),
            },
        ).start()
        workers.append(worker)
        publish_records(
            records,
            bootstrap=settings.kafka_bootstrap,
            topic=Topics(settings.kafka.topic_prefix).raw_articles,
        )
        ids = [r.id for r in records]
        got = wait_for_scores(db_engine, ids, len(ids), timeout_s=WAIT_S, alive=lambda: worker.alive)
        assert got == len(ids), worker.log_tail()
        return records

    yield run
    for worker in workers:
        worker.stop(timeout_s=20)


def _score(engine: Engine, article_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT sentiment, score FROM scores WHERE article_id = :a"), {"a": article_id}
        ).one()


def test_neutral_headline_with_negative_body_is_negative_whole_and_neutral_headline_only(
    run_worker: Callable[..., list[ArticleRecord]], db_engine: Engine
) -> None:
    feed = DemoFeed(seed=4)
    mixed = feed.mixed_item("ACMR", NOW - timedelta(minutes=2), headline_tone="neutral", body_tone="negative")
    background = feed.generate(6, NOW - timedelta(minutes=10))
    records = run_worker([mixed, *background])
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

    headline_only = run_worker([mixed], whole_article=False, salt="headline")
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


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 13 open: finsent-default-2's entity head sits on the frozen document encoder and "
        "follows the headline's overall tone (both companies score positive); the pipeline is "
        "wired end to end (rows arrive with source='entity'). strict: passing would fail this "
        "marker, so the test flips to a plain pass when a better head ships."
    ),
)
def test_one_headline_two_companies_with_opposite_news_get_opposite_entity_scores(
    run_worker: Callable[..., list[ArticleRecord]], db_engine: Engine
) -> None:
    item = _two_company_item(NOW - timedelta(minutes=1))
    records = run_worker([item, *DemoFeed(seed=5).generate(5, NOW - timedelta(minutes=10))])
    target = next(r for r in records if r.title == item.title)
    assert {"ORCH", "HLXB"} <= {e.ticker for e in target.entities}
    with db_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity, source, score FROM entity_scores WHERE article_id = :a"), {"a": target.id}
        ).all()
    by = {entity: (source, score) for entity, source, score in rows}
    assert by["ORCH"][0] == by["HLXB"][0] == "entity", by
    assert by["ORCH"][1] > 0.2 and by["HLXB"][1] < -0.2, by
