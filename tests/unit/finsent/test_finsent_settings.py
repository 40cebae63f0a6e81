"""Malformed settings stop start-up with the setting named (API and CLI)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from finsent.cli import app
from finsent.core.errors import ConfigError
from finsent.core.setting_names import NOT_SETTINGS
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
        ({"FINSENT_STREAM__BATCH_SIZE": "-1"}, "FINSENT_STREAM__BATCH_SIZE"),
        ({"FINSENT_STREAM__BATCH_SIZE": "many"}, "FINSENT_STREAM__BATCH_SIZE"),
        ({"FINSENT_EMBEDDED__PG_PORT": "70000"}, "FINSENT_EMBEDDED__PG_PORT"),
        ({"FINSENT_KAFKA__TOPIC_PREFIX": "has space"}, "FINSENT_KAFKA__TOPIC_PREFIX"),
        ({"FINSENT_STARTUP_TIMEOUT": "0s"}, "FINSENT_STARTUP_TIMEOUT"),
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
    monkeypatch.setenv("FINSENT_STREAM__BATCH_SIZE", "-5")
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert "FINSENT_STREAM__BATCH_SIZE" in result.output


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


# --- nested sections, unknown names, overrides ------------------------------------------------


def test_nested_sections_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_STREAM__BATCH_SIZE", "7")
    monkeypatch.setenv("FINSENT_STREAM__BATCH_WINDOW", "250ms")
    monkeypatch.setenv("FINSENT_RETRAIN__EPOCHS", "3")
    monkeypatch.setenv("FINSENT_API__TOKEN", "s3cret")
    settings = Settings.load()
    assert settings.stream.batch_size == 7
    assert settings.stream.batch_window == timedelta(milliseconds=250)
    assert settings.retrain.epochs == 3
    assert settings.api.token is not None and settings.api.token.get_secret_value() == "s3cret"
    assert settings.stream.concurrency == 1  # the rest of the section keeps its defaults


def test_a_setting_typo_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_RETRAIN_EPOCH", "3")
    with pytest.raises(ConfigError) as info:
        Settings.load()
    assert str(info.value) == "unknown setting FINSENT_RETRAIN_EPOCH (did you mean FINSENT_RETRAIN__EPOCHS?)"

    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 2
    assert "unknown setting FINSENT_RETRAIN_EPOCH" in result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("FINSENT_BATCH_SIZE", "FINSENT_STREAM__BATCH_SIZE"),
        ("FINSENT_API_TOKEN", "FINSENT_API__TOKEN"),
        ("FINSENT_HTTP_TIMEOUT_S", "FINSENT_INGEST__HTTP_TIMEOUT"),
        ("FINSENT_TOPIC_PREFIX", "FINSENT_KAFKA__TOPIC_PREFIX"),
    ],
)
def test_old_flat_names_are_refused_with_their_new_name(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    monkeypatch.setenv(old, "1")
    with pytest.raises(ConfigError, match=f"unknown setting {old} \\(renamed {new}"):
        Settings.load()


def test_finsent_variables_that_are_not_settings_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NOT_SETTINGS:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("FINSENT_CONFIG_FILE", "absent.toml")
    Settings.load()


def test_an_unknown_key_in_finsent_toml_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "finsent.toml").write_text("[retrain]\nepoch = 3\n[stream]\nbatch_size = 9\n")
    with pytest.raises(
        ConfigError,
        match=r"unknown setting retrain\.epoch in finsent\.toml \(did you mean retrain\.epochs\?\)",
    ):
        Settings.load()
    (tmp_path / "finsent.toml").write_text('data_dir = "/srv/finsent"\n[stream]\nbatch_size = 9\n')
    settings = Settings.load()
    assert (settings.stream.batch_size, settings.data_dir) == (9, Path("/srv/finsent"))


def test_the_dotenv_file_ignores_other_programs_names_but_not_ours(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=pw\nFINSENT_STREAM__BATCH_SIZE=5\n")
    assert Settings.load().stream.batch_size == 5
    (tmp_path / ".env").write_text("FINSENT_STREAM__BACTH_SIZE=5\n")
    with pytest.raises(
        ConfigError,
        match=r"FINSENT_STREAM__BACTH_SIZE \(in \.env\) \(did you mean FINSENT_STREAM__BATCH_SIZE\?\)",
    ):
        Settings.load()


def test_durations_need_a_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_STREAM__BATCH_WINDOW", "0.5")
    with pytest.raises(
        ConfigError, match=r"FINSENT_STREAM__BATCH_WINDOW \(stream\.batch_window\).*write 0\.5s or 0\.5m"
    ):
        Settings.load()


def test_override_is_a_revalidated_copy_and_settings_are_frozen() -> None:
    settings = Settings.load()
    changed = settings.override(stream={"batch_size": 8, "concurrency": None}, log_level="DEBUG")
    assert (changed.stream.batch_size, changed.stream.concurrency, changed.log_level) == (8, 1, "DEBUG")
    assert settings.stream.batch_size == 64  # the original is untouched
    with pytest.raises(ConfigError, match=r"FINSENT_STREAM__BATCH_SIZE \(stream\.batch_size\)"):
        settings.override(stream={"batch_size": 0})
    with pytest.raises(
        ConfigError, match=r"unknown setting stream\.batch_sise \(did you mean stream\.batch_size\?\)"
    ):
        settings.override(stream={"batch_sise": 8})
    with pytest.raises(ValidationError):
        settings.log_level = "DEBUG"  # type: ignore[misc]


def test_config_show_lists_every_section_field_with_durations_as_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINSENT_DATABASE_URL", "postgresql://finsent:pw@db:5432/finsent")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "stream.batch_window = '50ms'" in result.output
    assert "database_url = 'postgresql+psycopg://finsent:***@db:5432/finsent'" in result.output
    assert "pw" not in result.output.replace("pw@", "")
    as_json = json.loads(CliRunner().invoke(app, ["config", "show", "--json"]).output)
    assert as_json["retrain"]["cron"] == "0 2 * * *" and as_json["api"]["token"] is None
