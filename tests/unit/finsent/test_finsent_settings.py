"""Malformed settings stop start-up with the setting named (API and CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from finsent.cli import app
from finsent.core.errors import ConfigError
from finsent.core.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FINSENT_* from the developer's shell, no finsent.toml/.env from the repo."""
    import os

    for name in list(os.environ):
        if name.startswith("FINSENT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FINSENT_DATABASE_URL": "mysql://u@h/db"}, "FINSENT_DATABASE_URL"),
        ({"FINSENT_DATABASE_URL": "not a url"}, "FINSENT_DATABASE_URL"),
        ({"FINSENT_KAFKA_BOOTSTRAP": "localhost"}, "FINSENT_KAFKA_BOOTSTRAP"),
        ({"FINSENT_KAFKA_BOOTSTRAP": "h:99999"}, "FINSENT_KAFKA_BOOTSTRAP"),
        ({"FINSENT_BATCH_SIZE": "-1"}, "FINSENT_BATCH_SIZE"),
        ({"FINSENT_BATCH_SIZE": "many"}, "FINSENT_BATCH_SIZE"),
        ({"FINSENT_EMBEDDED_PG_PORT": "70000"}, "FINSENT_EMBEDDED_PG_PORT"),
        ({"FINSENT_TOPIC_PREFIX": "has space"}, "FINSENT_TOPIC_PREFIX"),
        ({"FINSENT_STARTUP_TIMEOUT_S": "0"}, "FINSENT_STARTUP_TIMEOUT_S"),
    ],
)
def test_malformed_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    with pytest.raises(ConfigError) as info:
        Settings.load()
    assert named in str(info.value)

    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 2
    assert named in result.output


@pytest.mark.parametrize("command", [["status"], ["down"], ["config", "show"], ["db", "upgrade"]])
def test_every_command_refuses_malformed_settings(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("FINSENT_BATCH_SIZE", "-5")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "FINSENT_BATCH_SIZE" in result.output


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls_get_the_psycopg_driver(raw: str, expected: str) -> None:
    settings = Settings.load(database_url=raw)
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == expected
    assert not settings.embedded_database


def test_unset_urls_mean_embedded_mode() -> None:
    settings = Settings.load()
    assert settings.embedded_database and settings.embedded_kafka
