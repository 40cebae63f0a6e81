"""Fixtures of the runtime tests: private stacks seeded from one initdb per session (initdb is slow)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finsent.core.settings import Settings
from finsent.runtime import EmbeddedStack
from finsent.runtime.postgres import EmbeddedPostgres

FAST = ("fsync=off",)


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised (never started) PostgreSQL data dir to copy."""
    data_dir = tmp_path_factory.mktemp("pg-template")
    pg = EmbeddedPostgres(data_dir, options=FAST)
    pg._init_data_dir(pg._system_user())
    return pg.pgdata


@pytest.fixture
def make_stack(pg_template: Path, tmp_path: Path) -> Iterator[Callable[..., EmbeddedStack]]:
    """``make(seed=True, tansu_bin=None, **settings) -> EmbeddedStack`` on a new tmp data dir.

    ``seed`` copies the template data dir in (skipping initdb). Every stack made is stopped at the end.
    """
    made: list[EmbeddedStack] = []

    def make(seed: bool = True, tansu_bin: Path | None = None, **overrides: object) -> EmbeddedStack:
        data_dir = tmp_path / f"data{len(made)}"
        settings = Settings(_env_file=None, data_dir=data_dir, startup_timeout="30s", **overrides)  # type: ignore[call-arg]
        stack = EmbeddedStack(settings, tansu_bin=tansu_bin, pg_options=FAST)
        if seed:
            data_dir.mkdir(parents=True)
            shutil.copytree(pg_template, stack.postgres.pgdata, symlinks=True)  # keeps modes
            shutil.copystat(pg_template, stack.postgres.pgdata)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.stop(timeout_s=5)
