"""Pure pieces of the embedded runtime: state file, liveness, ports, log tails, errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finsent.core.settings import Settings
from finsent.runtime import EmbeddedStartError, StackNotRunningError, resolve_urls
from finsent.runtime.processes import (
    free_port,
    pid_alive,
    port_is_free,
    process_create_time,
    spawn_detached,
    stop_process,
    tail,
)
from finsent.runtime.state import ServiceRecord, StackState, state_path


def _record(name: str = "kafka", pid: int = 1) -> ServiceRecord:
    return ServiceRecord(name=name, pid=pid, create_time=None, port=9, url="127.0.0.1:9", log="k.log")


def test_state_round_trips_and_empty_state_removes_the_file(tmp_path: Path) -> None:
    StackState(services={"kafka": _record()}).write(tmp_path)
    assert StackState.read(tmp_path).services == {"kafka": _record()}

    StackState().write(tmp_path)
    assert not state_path(tmp_path).exists()


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"services": {"kafka": {"pid": "x"}}}'])
def test_unreadable_state_reads_as_empty(tmp_path: Path, content: str) -> None:
    state_path(tmp_path).write_text(content)
    assert StackState.read(tmp_path).services == {}


def test_pid_alive_rejects_dead_and_recycled_pids() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        created = process_create_time(proc.pid)
        assert pid_alive(proc.pid, created)
        assert not pid_alive(proc.pid, (created or 0) - 100)  # same pid, other process
    finally:
        proc.kill()
        proc.wait()
    assert not pid_alive(proc.pid)
    assert not pid_alive(None)


def test_detached_process_survives_and_stop_terminates_it(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "x.log"
    pid = spawn_detached(
        [sys.executable, "-c", "print('hello', flush=True); import time; time.sleep(60)"], log
    )
    try:
        assert pid_alive(pid)
        assert os.getsid(pid) != os.getsid(0)  # own session: not killed with our terminal
        deadline = time.monotonic() + 10
        while "hello" not in tail(log) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tail(log) == "hello"
    finally:
        outcome = stop_process(pid, timeout_s=5)
    assert outcome == "stopped"
    assert not pid_alive(pid)
    assert stop_process(pid) == "not running"


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    log = tmp_path / "stubborn.log"
    pid = spawn_detached([sys.executable, "-c", code], log)
    deadline = time.monotonic() + 10
    while "ready" not in tail(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stop_process(pid, timeout_s=0.5) == "killed"
    assert not pid_alive(pid)


def test_port_helpers() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)


def test_tail_returns_last_lines_and_tolerates_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(path, 3) == "line 97\nline 98\nline 99"
    assert tail(tmp_path / "missing") == ""


def test_start_error_message_carries_the_log_tail() -> None:
    err = EmbeddedStartError("postgres", "the server process exited", "FATAL: boom\nDETAIL: more")
    assert "embedded postgres failed to start: the server process exited" in str(err)
    assert "    FATAL: boom" in str(err)
    assert (err.service, err.log_tail) == ("postgres", "FATAL: boom\nDETAIL: more")


def test_resolve_urls_prefers_settings_and_explains_a_missing_stack(tmp_path: Path) -> None:
    external = Settings.load(
        data_dir=tmp_path, database_url="postgresql://u@db:5432/x", kafka_bootstrap="k1:9092,k2:9092"
    )
    assert resolve_urls(external) == ("postgresql+psycopg://u@db:5432/x", "k1:9092,k2:9092")

    with pytest.raises(StackNotRunningError, match="finsent up"):
        resolve_urls(Settings.load(data_dir=tmp_path))


def test_resolve_urls_ignores_records_of_dead_processes(tmp_path: Path) -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    state = {
        "services": {n: json.loads(json.dumps(_record(n, proc.pid).__dict__)) for n in ("postgres", "kafka")}
    }
    state_path(tmp_path).write_text(json.dumps(state))
    with pytest.raises(StackNotRunningError):
        resolve_urls(Settings.load(data_dir=tmp_path))
