"""`finsent bench inference` machinery on the tiny version: same texts for every method, ratios
computed within the run, a chart written. (Speed itself is reported by the bench, not tested.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE


@pytest.mark.slow
def test_bench_runs_every_method_on_the_same_texts(tiny_version: Path, tmp_path: Path) -> None:
    from benchmarks.inference import plot_bench, run_inference_bench

    data = tmp_path / "sentiment.csv"
    labelled = [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]
    rows = [f'"{t} today",{label}' for t, label in labelled + [(t, "neutral") for t in NEUTRAL]]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    report = run_inference_bench(tiny_version, data, n=12, n_single=4, backends=("fp32",), threads=1)
    by = {r["method"]: r for r in report["results"]}
    assert set(by) == {"pipeline-single", "pipeline-batch64", "engine-fp32"}
    assert report["texts"] == 12 and by["pipeline-single"]["docs"] == 4 and by["engine-fp32"]["docs"] == 12
    single = by["pipeline-single"]["docs_per_s"]
    for r in by.values():
        assert r["docs_per_s"] > 0 and r["peak_rss_mb"] > 0
        assert r["x_pipeline_single"] == pytest.approx(r["docs_per_s"] / single)
    assert report["auto_cpu_backend"] == "onnx-int8"  # the tiny version has no distilled variant
    chart = plot_bench(report, tmp_path / "bench.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
