"""The CLI's one exception -> exit-code map: one `error:` line, no traceback, the same code everywhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from kafka.errors import KafkaConnectionError
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.testing import CliRunner

from finsent.cli import app
from finsent.cli.errors import EX_CONFIG, EX_DATAERR, EX_FAILED, EX_UNAVAILABLE, exit_code
from finsent.core.errors import BadDataError, ConfigError, FinsentError, RetryableError
from finsent.runtime import StackNotRunningError
from finsent.storage import StorageUnavailableError

UNREACHABLE = "postgresql+psycopg://finsent:pw@127.0.0.1:1/finsent"  # port 1: connection refused


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("FINSENT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ConfigError("bad"), EX_CONFIG),
        (BadDataError("bad"), EX_DATAERR),
        (RetryableError("later"), EX_UNAVAILABLE),
        (StorageUnavailableError("down"), EX_UNAVAILABLE),
        (StackNotRunningError("run `finsent up`"), EX_UNAVAILABLE),
        (FinsentError("failed"), EX_FAILED),
        (OperationalError("SELECT 1", {}, Exception("connection refused")), EX_UNAVAILABLE),
        (ProgrammingError("SELECT 1", {}, Exception("relation does not exist")), EX_FAILED),
        (KafkaConnectionError("no broker"), EX_UNAVAILABLE),
        (httpx.ConnectError("refused"), EX_UNAVAILABLE),
    ],
)
def test_exception_classes_map_to_one_exit_code(exc: Exception, code: int) -> None:
    mapped = exit_code(exc)
    assert mapped is not None and mapped[0] == code
    assert "\n" not in mapped[1] or isinstance(exc, FinsentError)  # peers' errors: their first line


@pytest.mark.parametrize("exc", [ValueError("a bug"), KeyError("x"), RuntimeError("boom")])
def test_anything_else_is_a_bug_and_keeps_its_traceback(exc: Exception) -> None:
    assert exit_code(exc) is None


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("command", [["alerts", "list"], ["models", "list"], ["db", "current"]])
def test_an_unreachable_database_exits_69_with_one_error_line(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("FINSENT_DATABASE_URL", UNREACHABLE)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == EX_UNAVAILABLE, result.output
    assert len(_error_lines(result.output)) == 1, result.output
    assert "Traceback" not in result.output and "sqlalche.me" not in result.output
    assert "pw" not in result.output  # the password never reaches the terminal


def test_an_embedded_service_that_is_not_running_exits_69() -> None:
    result = CliRunner().invoke(app, ["alerts", "list"])
    assert result.exit_code == EX_UNAVAILABLE
    assert _error_lines(result.output) and "run `finsent up`" in result.output


def test_a_settings_typo_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_RETRAIN_EPOCH", "3")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == EX_CONFIG
    assert "FINSENT_RETRAIN_EPOCH" in result.output and "FINSENT_RETRAIN__EPOCHS" in result.output


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo-feed", "--minutes", "1", "--event", "ACMR,+4m,8"], "write 8s or 8m"),
        (["worker", "--batch-window", "0.2"], "write 0.2s or 0.2m"),
        (["down", "--timeout", "15"], "write 15s or 15m"),
    ],
)
def test_a_bare_number_duration_option_is_rejected(argv: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    words = re.sub(r"[│╭╮╰╯─]", " ", result.output).split()  # rich draws usage errors in a box
    assert expected in " ".join(words)


def test_event_durations_use_the_rule_window_syntax() -> None:
    result = CliRunner().invoke(app, ["demo-feed", "--minutes", "10", "--event", "ACMR,+4m,8m,negative"])
    assert result.exit_code == 0, result.output
    assert "*" in result.output  # planted items are starred


def _planted(spec: str) -> int:
    argv = ["demo-feed", "--minutes", "5", "--start", "2026-01-05T10:00:00+00:00", "--event", spec]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    return sum(line.lstrip().startswith("*") for line in result.output.splitlines())


def test_an_events_fifth_field_is_its_rate_per_minute() -> None:
    default, slow, fast = (
        _planted("ACMR,+0s,5m,negative"),
        _planted("ACMR,+0s,5m,negative,2"),
        _planted("ACMR,+0s,5m,negative,60"),
    )
    # Poisson counts over 5 minutes: about 50 at the default 10/min, 10 at 2/min, 300 at 60/min.
    assert slow < default < fast
    assert 150 < fast < 450 and slow < 30


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("x", "not a number of items per minute"), ("0", "greater than 0"), ("inf", "finite number")],
)
def test_a_bad_event_rate_is_refused_naming_it(rate: str, expected: str) -> None:
    result = CliRunner().invoke(
        app, ["demo-feed", "--minutes", "1", "--event", f"ACMR,+0s,1m,negative,{rate}"]
    )
    assert result.exit_code != 0
    assert expected in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def test_an_unwritable_data_dir_stops_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A data dir that cannot be created (its parent is a file) is the operator's setting to fix:
    # exit 2 naming the directory, no traceback, nothing started.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("FINSENT_DATA_DIR", str(blocker / "var"))
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == EX_CONFIG, result.output
    assert f"error: data dir {blocker / 'var'} is not writable" in result.output
    assert "FINSENT_DATA_DIR" in result.output
    assert "Traceback" not in result.output
