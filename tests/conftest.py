"""Shared fixtures: the real embedded PostgreSQL and broker, started once per test session.

A service that cannot start fails every test that needs it (errors, never skips). Set
``FINSENT_TEST_DATABASE_URL`` / ``FINSENT_TEST_KAFKA_BOOTSTRAP`` to run against external services
instead. See /work/brief/FIXTURES.md for how to use them.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from finsent.core.settings import Settings
from finsent.runtime import EmbeddedStack
from finsent.runtime import create_topics as create_kafka_topics
from finsent.storage.db import make_engine, truncate_all, upgrade
from finsent.stream.topics import Topics

# PostgreSQL durability is pointless for throw-away test data and costs CPU we do not have.
_TEST_PG_OPTIONS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@dataclass(frozen=True)
class StackHandle:
    """Where the session's services run."""

    database_url: str
    kafka_bootstrap: str
    data_dir: Path


# Tests that mostly wait on the wall clock. `make test` runs pytest with two processes (-n 2): these
# run in the second one, beside the rest, so their waiting costs no suite time; every other test
# runs in the first process in collection order, exactly as without xdist (module fixtures and
# the session's embedded stack are shared as before). A fresh `finsent run` waits about a minute
# and a half for its demo burst's minutes to close, using little CPU meanwhile.
OWN_PROCESS = frozenset(
    {"tests/e2e/test_browser_live_page.py::test_fresh_finsent_run_shows_the_burst_alert_and_its_articles"}
)

# A pytest-xdist worker starts with COLUMNS/LINES set to the controlling terminal's size (80x24 with
# none), and rich fixes a Console's width from COLUMNS when the console is made, at import: the CLI's
# tables came out 80 wide whatever a test passed. Workers format output as a plain `pytest` run does.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

if importlib.util.find_spec("xdist") is not None:  # the hook is xdist's: unknown to pytest without it

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        """Two work units: each OWN_PROCESS test, and everything else in collection order."""
        from xdist.scheduler import LoadScopeScheduling

        class OwnProcessScheduling(LoadScopeScheduling):  # type: ignore[misc]
            def _split_scope(self, nodeid: str) -> str:
                return nodeid if nodeid in OWN_PROCESS else "main"

        return OwnProcessScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the real services are integration tests, whether or not they say so."""
    needs_stack = {"embedded_stack", "db_engine", "topic_factory", "settings_factory", "fresh_database_url"}
    for item in items:
        if needs_stack & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackHandle]:
    """Real PostgreSQL + Tansu for the whole session, in a temporary data dir."""
    data_dir = tmp_path_factory.mktemp("finsent-stack")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
        data_dir=data_dir,
        database_url=os.environ.get("FINSENT_TEST_DATABASE_URL") or None,
        kafka_bootstrap=os.environ.get("FINSENT_TEST_KAFKA_BOOTSTRAP") or None,
        embedded={"pg_port": 0, "kafka_port": 0},
    )
    stack = EmbeddedStack(settings, pg_options=_TEST_PG_OPTIONS)
    info = stack.start()  # raises EmbeddedStartError with the log tail: every dependent test errors
    try:
        yield StackHandle(info.database_url, info.kafka_bootstrap, info.data_dir)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def _session_engine(embedded_stack: StackHandle) -> Iterator[Engine]:
    upgrade(embedded_stack.database_url)
    engine = make_engine(embedded_stack.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_engine(_session_engine: Engine) -> Engine:
    """Engine on the migrated schema; every table is emptied before the test."""
    with _session_engine.begin() as conn:
        truncate_all(conn)
    return _session_engine


@pytest.fixture
def fresh_database_url(embedded_stack: StackHandle) -> Iterator[str]:
    """URL of a new, empty database (dropped afterwards) for tests that migrate or break schemas."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = embedded_stack.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    admin = admin.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield embedded_stack.database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topic_factory(embedded_stack: StackHandle) -> Callable[..., str]:
    """``make(partitions=1, prefix="test") -> name``: a new uuid-named topic, created on the broker."""

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex}"
        create_kafka_topics(embedded_stack.kafka_bootstrap, [name], partitions)
        return name

    return make


@pytest.fixture
def settings_factory(embedded_stack: StackHandle, tmp_path: Path) -> Callable[..., Settings]:
    """``make(create_topics=False, **overrides) -> Settings`` on the session's services.

    Defaults: ``data_dir`` = a fresh tmp dir, a unique ``kafka.topic_prefix`` (so ``Topics(prefix)``
    names are this test's own), ``kafka.topic_partitions=1``. ``overrides`` go through
    :meth:`Settings.override` (sections as mappings: ``ingest={"allow_private_addresses": True}``).
    With ``create_topics=True`` finsent's topics for that prefix are created on the broker.
    """

    def make(create_topics: bool = False, **overrides: Any) -> Settings:
        base = Settings(
            _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
            data_dir=tmp_path / "data",
            database_url=embedded_stack.database_url,
            kafka_bootstrap=embedded_stack.kafka_bootstrap,
            kafka={"topic_prefix": f"t{uuid.uuid4().hex[:12]}", "topic_partitions": 1},
        )
        settings = base.override(**overrides)
        if create_topics:
            kafka = settings.kafka
            create_kafka_topics(
                embedded_stack.kafka_bootstrap, Topics(kafka.topic_prefix).all(), kafka.topic_partitions
            )
        return settings

    return make


@pytest.fixture
def scored_record() -> Callable[..., bytes]:
    """``make(published_at, **overrides) -> bytes``: an encoded, valid negative ScoredArticleRecord."""
    from datetime import datetime

    from finsent.core.records import ScoredArticleRecord

    def make(published_at: datetime, **overrides: Any) -> bytes:
        fields: dict[str, Any] = {
            "article_id": "a1",
            "source_id": "demo",
            "title": "Acme misses estimates",
            "published_at": published_at,
            "emitted_at": published_at,
            "scored_at": published_at,
            "model_version": "v1",
            "topic": 5,
            "topic_label": "Earnings",
            "topic_probs": [0.05] * 20,
            "sentiment": "negative",
            "sentiment_probs": [0.8, 0.15, 0.05],
            "score": -0.75,
            "confidence": 0.8,
        }
        return ScoredArticleRecord(**(fields | overrides)).to_bytes()

    return make
