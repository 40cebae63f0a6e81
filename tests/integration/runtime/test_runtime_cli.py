"""The real `finsent up/status/down` commands in subprocesses, on a tmp data dir."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from finsent.core.settings import Settings
from finsent.runtime import EmbeddedStack
from finsent.runtime.state import StackState


def _finsent(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("finsent")
    cmd = str(exe) if exe.exists() else (shutil.which("finsent") or "finsent")
    return subprocess.run([cmd, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def cli_env(tmp_path: Path, pg_template: Path) -> Iterator[dict[str, str]]:
    """Environment for `finsent` on a private data dir (seeded, so no initdb); stopped at the end."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copytree(pg_template, data_dir / "postgres", symlinks=True)
    shutil.copystat(pg_template, data_dir / "postgres")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSENT_")}
    env |= {"FINSENT_DATA_DIR": str(data_dir), "FINSENT_STARTUP_TIMEOUT": "30s", "COLUMNS": "200"}
    yield env
    EmbeddedStack(Settings(_env_file=None, data_dir=data_dir)).stop(timeout_s=5)  # type: ignore[call-arg]


def _pg_url(env: dict[str, str]) -> str:
    return StackState.read(Path(env["FINSENT_DATA_DIR"])).services["postgres"].url.replace("+psycopg", "")


def test_up_status_down_up_keeps_the_data(cli_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        up = _finsent("up", env=cli_env | {"FINSENT_EMBEDDED__KAFKA_PORT": str(taken)})
    assert up.returncode == 0, up.stderr
    assert f"broker port {taken} is taken; using" in up.stdout
    assert "schema at revision" in up.stdout
    assert "topics ready: 4" in up.stdout
    status = _finsent("status", "--json", env=cli_env)
    assert status.returncode == 0
    assert json.loads(status.stdout)["healthy"] is True
    with psycopg.connect(_pg_url(cli_env), autocommit=True) as conn:
        conn.execute("INSERT INTO sources (id, kind) VALUES ('kept', 'rss')")

    # Each `finsent` process costs seconds of start-up: "up twice" and "status after down" are
    # covered through the Python API in test_runtime_stack.py.
    down = _finsent("down", env=cli_env)
    assert down.returncode == 0
    assert "PostgreSQL    stopped" in down.stdout
    assert StackState.read(Path(cli_env["FINSENT_DATA_DIR"])).services == {}

    assert _finsent("up", "--no-provision", env=cli_env).returncode == 0
    with psycopg.connect(_pg_url(cli_env)) as conn:
        assert conn.execute("SELECT id FROM sources").fetchall() == [("kept",)]


def test_failed_start_is_readable_and_leaves_nothing_running(cli_env: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "tansu"
    bogus.write_text("#!/bin/sh\necho 'tansu: cannot open storage: disk on fire' >&2\nexit 3\n")
    bogus.chmod(0o755)

    up = _finsent("up", env=cli_env | {"CALF_TANSU_BIN": str(bogus)})

    assert up.returncode == 1
    assert "embedded kafka failed to start" in up.stderr
    assert "disk on fire" in up.stderr  # the log tail
    assert "Traceback" not in up.stderr
    assert StackState.read(Path(cli_env["FINSENT_DATA_DIR"])).services == {}
    stack = EmbeddedStack(Settings(_env_file=None, data_dir=Path(cli_env["FINSENT_DATA_DIR"])))  # type: ignore[call-arg]
    assert stack.postgres.running_server() is None
