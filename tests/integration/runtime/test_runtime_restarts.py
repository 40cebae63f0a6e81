"""Restarts keep their addresses; a damaged state file never orphans a service (real processes)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from typer.testing import CliRunner

from finsent.runtime import EmbeddedStack
from finsent.runtime.processes import pid_alive
from finsent.runtime.state import StackState, state_path


def _kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)


def test_services_killed_with_sigkill_come_back_on_the_ports_they_had(
    make_stack: Callable[..., EmbeddedStack],
) -> None:
    stack = make_stack()
    first = stack.start()
    services = StackState.read(stack.data_dir).services
    _kill9(services["kafka"].pid)
    _kill9(services["postgres"].pid)

    second = stack.start()

    assert set(second.started) == {"postgres", "kafka"}
    assert (second.database_url, second.kafka_bootstrap) == (first.database_url, first.kafka_bootstrap)
    assert not any("is taken" in note for note in second.notes), second.notes
    assert stack.status().healthy


def test_a_truncated_state_file_is_rebuilt_from_pid_files_and_nothing_is_orphaned(
    make_stack: Callable[..., EmbeddedStack],
) -> None:
    stack = make_stack()
    first = stack.start()
    pids = {n: r.pid for n, r in StackState.read(stack.data_dir).services.items()}
    path = state_path(stack.data_dir)
    path.write_text(path.read_text()[:37])  # truncated mid-write

    report = stack.status()
    assert report.healthy, report
    assert report.problem is not None and "damaged" in report.problem and "pid files" in report.problem

    again = stack.start()
    assert again.started == ()  # no second broker next to the first
    assert again.kafka_bootstrap == first.kafka_bootstrap
    assert any("damaged" in note for note in again.notes)
    assert StackState.read(stack.data_dir).problem is None  # rewritten

    path.write_text("{")
    assert set(stack.stop(timeout_s=5).values()) == {"stopped"}
    assert not any(pid_alive(pid) for pid in pids.values())


def test_status_prints_one_clear_line_for_a_damaged_state_file(
    make_stack: Callable[..., EmbeddedStack],
) -> None:
    from finsent.cli import app

    stack = make_stack()
    stack.start()
    state_path(stack.data_dir).write_text('{"services": ')
    env = {"FINSENT_DATA_DIR": str(stack.data_dir)}
    result = CliRunner().invoke(app, ["status"], env=env)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "damaged" in line]
    assert len(notes) == 1 and "state.json" in notes[0], result.output
    assert "Traceback" not in result.output
    assert result.output.count("healthy") >= 2
