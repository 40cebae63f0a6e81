"""The nightly schedule and the run configuration (no database, no model)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from finsent.core.errors import ConfigError
from finsent.core.settings import Settings
from finsent.lifecycle import RetrainConfig
from finsent.lifecycle.job import config_from_settings
from finsent.lifecycle.schedule import build_scheduler, next_run, standard_cron


class _Job:
    def __init__(self) -> None:
        self.triggers: list[str] = []

    def run(self, trigger: str = "manual", *, force: bool = False) -> Any:
        self.triggers.append(trigger)
        return None


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]  # pydantic-settings init option


def test_scheduler_runs_the_job_on_the_configured_cron() -> None:
    job = _Job()
    scheduler = build_scheduler(
        job, cron=_settings(retrain={"cron": "30 3 * * 1-5"}).retrain.cron, blocking=False
    )
    entry = scheduler.get_job("retrain")
    assert entry.max_instances == 1 and entry.coalesce is True
    after = datetime(2025, 6, 6, 4, 0, tzinfo=UTC)  # a Friday, after 03:30
    assert entry.trigger.get_next_fire_time(None, after) == datetime(2025, 6, 9, 3, 30, tzinfo=UTC)
    entry.func(*entry.args)
    assert job.triggers == ["cron"]


def test_default_schedule_is_nightly() -> None:
    scheduler = build_scheduler(_Job(), cron=_settings().retrain.cron, blocking=False)
    entry = scheduler.get_job("retrain")
    after = datetime(2025, 6, 6, 12, 0, tzinfo=UTC)
    assert entry.trigger.get_next_fire_time(None, after) == datetime(2025, 6, 7, 2, 0, tzinfo=UTC)
    upcoming = next_run(scheduler)
    assert upcoming is not None and (upcoming.hour, upcoming.minute) == (2, 0)


@pytest.mark.parametrize("cron", ["every night", "61 2 * * *", "* * *"])
def test_bad_cron_is_a_config_error(cron: str) -> None:
    with pytest.raises(ConfigError, match=r"FINSENT_RETRAIN__CRON \(retrain\.cron\)"):
        build_scheduler(_Job(), cron=_settings(retrain={"cron": cron}).retrain.cron, blocking=False)


def test_config_overrides_and_file(tmp_path: Path) -> None:
    config = config_from_settings(_settings(), gold_size=50, epochs=None)
    assert config.gold_size == 50 and config.epochs == RetrainConfig().epochs
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"lr": 3e-4, "base_data": str(tmp_path)}))
    loaded = RetrainConfig.from_file(path, config)
    assert loaded.lr == 3e-4 and loaded.base_data == tmp_path and loaded.gold_size == 50
    path.write_text(json.dumps({"learning_rate": 1}))
    with pytest.raises(ValueError, match="unknown retrain settings"):
        RetrainConfig.from_file(path)


def test_retrain_settings_feed_the_run_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every retrain setting but the schedule is a RetrainConfig field (with_overrides rejects others).
    names = set(Settings.model_fields["retrain"].annotation.model_fields) - {"cron"}  # type: ignore[union-attr]
    assert names and names <= set(RetrainConfig.__dataclass_fields__)
    monkeypatch.setenv("FINSENT_RETRAIN__EPOCHS", "5")
    monkeypatch.setenv("FINSENT_RETRAIN__GOLD_SIZE", "300")
    config = config_from_settings(Settings.load(_env_file=None))
    assert (config.epochs, config.gold_size) == (5, 300)
    assert config.replay_size == RetrainConfig().replay_size, "unset settings keep the job's default"


def test_a_misspelt_retrain_setting_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_RETRAIN_EPOCH", "3")
    with pytest.raises(ConfigError, match="FINSENT_RETRAIN_EPOCH"):
        Settings.load(_env_file=None)


def test_train_config_follows_the_production_version() -> None:
    manifest = {"mode": "top", "base_model": "b", "pooling": "cls", "train_config": {"train_layers": 3}}
    tc = RetrainConfig(epochs=1, lr=1e-5).train_config("/models/v1", manifest)
    assert (tc.mode, tc.train_layers, tc.pooling, tc.init_from) == ("top", 3, "cls", "/models/v1")
    assert (tc.epochs, tc.lr, tc.dev_fraction) == (1, 1e-5, 0.0)


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 2 * * *", "0 2 * * *"),
        ("30 3 * * 1-5", "30 3 * * mon,tue,wed,thu,fri"),
        ("0 0 * * 0", "0 0 * * sun"),
        ("0 0 * * 7", "0 0 * * sun"),
        ("0 0 * * 5-7", "0 0 * * sun,fri,sat"),
        ("0 0 * * sat,SUN", "0 0 * * sun,sat"),
        ("0 0 * * */2", "0 0 * * sun,tue,thu,sat"),
    ],
)
def test_standard_cron_days_count_from_sunday(cron: str, expected: str) -> None:
    assert standard_cron(cron) == expected


@pytest.mark.parametrize("cron", ["0 0 * * 8", "0 0 * * 5-1", "0 0 * * funday", "0 0 * *"])
def test_standard_cron_rejects_bad_days(cron: str) -> None:
    with pytest.raises(ValueError):
        standard_cron(cron)
