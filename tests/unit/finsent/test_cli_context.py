"""The CLI's application context: built lazily, once per command, closed when the command ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsent.cli.context import command_context, current
from finsent.core.settings import Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://u@127.0.0.1:1/db")  # type: ignore[call-arg]


def test_services_are_built_once_on_first_use_and_closed_at_the_end(tmp_path: Path) -> None:
    with command_context(_settings(tmp_path)) as app:
        assert current() is app
        assert "engine" not in vars(app)  # nothing is built before it is used
        engine = app.engine
        assert app.engine is engine and app.registry.store_dir == tmp_path / "models"
    assert "engine" not in vars(app)  # disposed and dropped
    with pytest.raises(RuntimeError, match="no finsent command is running"):
        current()


def test_options_apply_before_services_are_built(tmp_path: Path) -> None:
    with command_context(_settings(tmp_path)) as app:
        settings = app.override(stream={"batch_size": 3, "concurrency": None})
        assert app.settings is settings and settings.stream.batch_size == 3
        assert app.engine is not None
        with pytest.raises(RuntimeError, match="options applied after"):
            app.override(stream={"batch_size": 4})
