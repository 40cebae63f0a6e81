"""`finsent bench ...` finds the benchmarks of a source checkout, and says so when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

import finsent
from finsent.cli.bench_loader import load_benchmark
from finsent.core.errors import FinsentError


def test_benchmarks_load_from_the_checkout() -> None:
    module = load_benchmark("pipeline_stats")
    root = Path(finsent.__file__).resolve().parents[1]
    assert Path(module.__file__ or "").resolve() == root / "benchmarks" / "pipeline_stats.py"
    assert module.percentiles([1.0])["p50"] == 1.0


def test_an_installed_wheel_has_no_benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "finsent").mkdir()
    monkeypatch.setattr(finsent, "__file__", str(tmp_path / "finsent" / "__init__.py"))
    with pytest.raises(FinsentError, match="benchmarks need a source checkout"):
        load_benchmark("inference")
