"""Model commands run as a user runs them (a subprocess, stdout + stderr together): no third-party
loader tables, progress bars or warnings, and without a registry the shipped model, said once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.models.conftest import NEGATIVE, POSITIVE

SHIPPED = json.loads((Path(__file__).resolve().parents[3] / "models/default/finsent_model.json").read_text())
NOISE = ("LOAD REPORT", "UNEXPECTED", "Loading weights", "it/s]", "Warning", "warn(")


def _finsent(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _finsent_together(tmp_path, list(args))[0]


def _finsent_together(tmp_path: Path, *argvs: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Run ``finsent ARGS`` once per argv, at the same time (each is mostly its imports)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSENT_")}
    env.update(FINSENT_DATA_DIR=str(tmp_path / "data"), FINSENT_ONNX_CACHE=str(tmp_path / "onnx"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "finsent", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for argv in argvs
    ]
    done = []
    for argv, proc in zip(argvs, procs, strict=True):
        try:
            out, err = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
        done.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return done


def _assert_quiet(output: str) -> None:
    for noise in NOISE:
        assert noise not in output, output
    fallback = [line for line in output.splitlines() if "using the shipped model" in line]
    assert len(fallback) == 1 and "embedded PostgreSQL is not running" in fallback[0], output


@pytest.mark.slow
def test_explain_without_a_registry_uses_the_shipped_model_quietly(tmp_path: Path) -> None:
    run, text = _finsent_together(
        tmp_path,
        ["explain", NEGATIVE[0], "--cpu-backend", "fp32", "--json"],
        ["explain", POSITIVE[0], "--cpu-backend", "fp32"],
    )
    assert run.returncode == 0, run.stderr
    _assert_quiet(run.stdout + run.stderr)
    data = json.loads(run.stdout)
    assert data["sentiment"] == "negative" and data["words"] and data["model_version"] == SHIPPED["version"]
    assert text.returncode == 0 and "positive" in text.stdout, text.stderr
    _assert_quiet(text.stdout + text.stderr)


@pytest.mark.slow
def test_eval_without_a_registry_uses_the_shipped_model_quietly(tmp_path: Path) -> None:
    data = tmp_path / "sentiment.csv"
    rows = [f'"{t}",positive' for t in POSITIVE] + [f'"{t}",negative' for t in NEGATIVE]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    run = _finsent(
        tmp_path, "eval", "--data", str(data), "--task", "sentiment", "--cpu-backend", "fp32", "--json"
    )
    assert run.returncode == 0, run.stderr
    _assert_quiet(run.stdout + run.stderr)
    report = json.loads(run.stdout)
    assert report["n"] == 8 and report["accuracy"] == 1.0 and report["model_version"] == SHIPPED["version"]


def test_the_torch_profiler_is_quiet_after_quiet_third_party() -> None:
    """The inference bench's profile (torch.profiler) adds no kineto lines to stderr."""
    code = (
        "import torch\n"
        "from finsent.models.quiet import quiet_third_party\n"
        "{quiet}"
        "from torch.profiler import ProfilerActivity, profile\n"
        "with profile(activities=[ProfilerActivity.CPU]) as prof:\n"
        "    torch.mm(torch.ones(8, 8), torch.ones(8, 8))\n"
        "print(len(prof.key_averages()) > 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KINETO_LOG_LEVEL"}
    for quiet in (True, False):
        run = subprocess.run(
            [sys.executable, "-c", code.format(quiet="quiet_third_party()\n" if quiet else "")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr
        # without it, torch 2.13's kineto prints "USDT: ... profiler_start" (what this guards)
        assert (run.stderr == "") if quiet else ("profiler_start" in run.stderr), run.stderr
