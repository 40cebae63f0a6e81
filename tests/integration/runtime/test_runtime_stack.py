"""EmbeddedStack through its Python API: restarts, stale state, failures, external URLs."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from finsent.core.settings import Settings
from finsent.runtime import (
    EmbeddedStack,
    EmbeddedStartError,
    StackNotRunningError,
    resolve_urls,
)
from finsent.runtime.processes import pid_alive, stop_process
from finsent.runtime.state import StackState, state_path


@pytest.fixture
def stack(make_stack: Callable[..., EmbeddedStack]) -> EmbeddedStack:
    """A private stack on a tmp data dir, stopped afterwards."""
    return make_stack()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_start_twice_is_harmless_and_stop_cleans_up(stack: EmbeddedStack) -> None:
    first = stack.start()
    second = stack.start()

    assert first.started == ("postgres", "kafka")
    assert second.started == ()
    assert (second.database_url, second.kafka_bootstrap) == (first.database_url, first.kafka_bootstrap)
    assert resolve_urls(stack.settings) == (first.database_url, first.kafka_bootstrap)
    assert stack.status().healthy
    pids = [rec.pid for rec in StackState.read(stack.data_dir).services.values()]

    assert set(stack.stop().values()) == {"stopped"}
    assert not any(pid_alive(pid) for pid in pids)
    assert not state_path(stack.data_dir).exists()
    assert not stack.status().healthy
    with pytest.raises(StackNotRunningError, match="finsent up"):
        resolve_urls(stack.settings)


def test_stale_state_is_detected_and_replaced(stack: EmbeddedStack) -> None:
    stack.data_dir.mkdir(parents=True, exist_ok=True)
    dead = _dead_pid()
    stale = {
        "services": {
            "kafka": {
                "name": "kafka",
                "pid": dead,
                "create_time": 1.0,
                "port": 1,
                "url": "127.0.0.1:1",
                "log": "x",
            }
        }
    }
    state_path(stack.data_dir).write_text(json.dumps(stale))
    with pytest.raises(StackNotRunningError):
        resolve_urls(stack.settings)

    info = stack.start()

    assert any("stale state cleaned" in note and str(dead) in note for note in info.notes)
    assert "kafka" in info.started
    assert stack.status().healthy


def test_a_postgres_running_without_state_is_adopted(stack: EmbeddedStack) -> None:
    first = stack.start()
    kafka_pid = StackState.read(stack.data_dir).services["kafka"].pid
    state_path(stack.data_dir).unlink()  # e.g. someone deleted it while services ran
    try:
        second = stack.start()
    finally:
        stop_process(kafka_pid, timeout_s=5)  # adopted from its pid file too; stopped here

    assert any("adopted PostgreSQL" in note for note in second.notes)
    assert second.database_url == first.database_url


def test_taken_configured_port_is_replaced_and_reported(make_stack: Callable[..., EmbeddedStack]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        info = make_stack(embedded={"pg_port": taken}).start()

    assert f"PostgreSQL port {taken} is taken" in " ".join(info.notes)
    assert f":{taken}/" not in info.database_url


def test_bogus_broker_binary_gives_readable_error_and_leaves_nothing_running(
    make_stack: Callable[..., EmbeddedStack], tmp_path: Path
) -> None:
    stack = make_stack(tansu_bin=tmp_path / "no-such-tansu")

    with pytest.raises(EmbeddedStartError) as info:
        stack.start()

    assert info.value.service == "kafka"
    assert "no-such-tansu" in info.value.log_tail  # the shell's "not found" line from the log
    assert "last lines of its log" in str(info.value)
    assert stack.postgres.running_server() is None  # postgres, started first, was stopped again
    assert not state_path(stack.data_dir).exists()


def test_corrupt_postgres_data_dir_gives_log_tail_and_leaves_nothing_running(
    make_stack: Callable[..., EmbeddedStack],
) -> None:
    stack = make_stack()
    (stack.postgres.pgdata / "global" / "pg_control").write_bytes(b"garbage" * 10)

    with pytest.raises(EmbeddedStartError) as info:
        stack.start()

    assert info.value.service == "postgres"
    assert "control file" in info.value.log_tail or "pg_control" in info.value.log_tail
    assert stack.postgres.running_server() is None
    assert not state_path(stack.data_dir).exists()


def test_non_postgres_directory_is_refused_with_a_clear_message(
    make_stack: Callable[..., EmbeddedStack],
) -> None:
    stack = make_stack(seed=False)
    stack.postgres.pgdata.mkdir(parents=True)
    (stack.postgres.pgdata / "notes.txt").write_text("my files")

    with pytest.raises(EmbeddedStartError, match="no PostgreSQL data directory"):
        stack.start()
    assert (stack.postgres.pgdata / "notes.txt").read_text() == "my files"


def test_external_urls_skip_the_embedded_services(embedded_stack, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]  # pydantic-settings init option
        data_dir=tmp_path / "d",
        database_url=embedded_stack.database_url,
        kafka_bootstrap=embedded_stack.kafka_bootstrap,
    )
    stack = EmbeddedStack(settings)

    info = stack.start()
    report = stack.status()

    assert info.started == ()
    assert (info.database_url, info.kafka_bootstrap) == (
        embedded_stack.database_url,
        embedded_stack.kafka_bootstrap,
    )
    assert [(s.mode, s.healthy) for s in report.services] == [("external", True), ("external", True)]
    assert not state_path(stack.data_dir).exists()
    assert resolve_urls(settings) == (embedded_stack.database_url, embedded_stack.kafka_bootstrap)


def test_data_survives_a_restart(stack: EmbeddedStack) -> None:
    url = stack.start().database_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('before restart')")
    stack.stop()

    url = stack.start().database_url.replace("+psycopg", "")

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("before restart",)]


def test_postgres_stop_finds_its_server_when_the_record_start_time_is_off(stack: EmbeddedStack) -> None:
    # A clock step between start and stop shifts the recorded start time: the server of this data
    # directory (its postmaster.pid) is still the one to stop, not "not running" with it left up.
    stack.start()
    record = StackState.read(stack.data_dir).services["postgres"]
    skewed = dataclasses.replace(record, create_time=(record.create_time or 0.0) - 3600.0)

    assert stack.postgres.stop(skewed) == "stopped"
    assert not pid_alive(record.pid)
    assert stack.postgres.running_server() is None
