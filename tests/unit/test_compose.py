"""docker-compose.yml checked structurally (no Docker engine here).

The YAML parses, every finsent service uses only real settings and real CLI commands, and every
file it mounts or builds from exists in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
import yaml

from finsent.cli import app
from finsent.core.setting_names import check_names
from finsent.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
FINSENT_SERVICES = sorted(n for n, s in SERVICES.items() if s.get("image") == "finsent:latest")


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_production_stack_has_kafka_kraft_postgres_grafana_and_finsent_services() -> None:
    assert {"kafka", "postgres", "grafana"} <= set(SERVICES)
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert {"init", "crawler", "worker", "api", "scheduler", "alerts"} <= set(FINSENT_SERVICES)
    for name in ("kafka", "postgres", "grafana"):
        assert any(":" in v for v in SERVICES[name]["volumes"]), f"{name} keeps its data in a volume"


@pytest.mark.parametrize("name", FINSENT_SERVICES)
def test_finsent_env_names_are_real_settings(name: str) -> None:
    env = _env(SERVICES[name])
    check_names(Settings, env)  # the start-up check: ConfigError naming any FINSENT_* no setting reads
    assert "FINSENT_DATABASE_URL" in env and "FINSENT_KAFKA_BOOTSTRAP" in env


@pytest.mark.parametrize("name", FINSENT_SERVICES)
def test_finsent_commands_exist(name: str) -> None:
    argv = SERVICES[name]["command"]
    assert argv[0] == "finsent"
    group: Any = typer.main.get_command(app)
    ctx = click.Context(group) if isinstance(group, click.Command) else None
    for word in argv[1:]:
        assert hasattr(group, "get_command"), f"{argv}: {word!r} under a plain command"
        sub = group.get_command(ctx, word)
        assert sub is not None, f"{argv}: no such command {word!r}"
        group = sub


def test_referenced_files_exist() -> None:
    assert (ROOT / "Dockerfile").exists()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            host = volume.split(":", 1)[0]
            if host.startswith("./"):
                assert (ROOT / host).exists(), f"{name} mounts missing {host}"
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"


def test_grafana_provisioning_files_parse() -> None:
    prov = ROOT / "dashboards/grafana/provisioning"
    ds = yaml.safe_load((prov / "datasources/finsent.yaml").read_text())
    assert ds["datasources"][0]["type"] == "grafana-postgresql-datasource"
    provider = yaml.safe_load((prov / "dashboards/finsent.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
