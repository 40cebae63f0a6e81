"""`finsent bench inference` machinery on the tiny version: same texts for every method, ratios
computed within the run, a chart written. (Speed itself is reported by the bench, not tested.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.models.conftest import NEGATIVE, NEUTRAL, POSITIVE


@pytest.mark.slow
def test_bench_runs_every_method_on_the_same_texts(
    tiny_version: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.inference import plot_bench, run_inference_bench

    monkeypatch.setenv("FINSENT_ONNX_CACHE", str(tmp_path / "cache"))  # auto's decision lands here

    data = tmp_path / "sentiment.csv"
    labelled = [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]
    rows = [f'"{t} today",{label}' for t, label in labelled + [(t, "neutral") for t in NEUTRAL]]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    report = run_inference_bench(tiny_version, data, n=12, n_single=4, backends=("fp32",), threads=1)
    by = {r["method"]: r for r in report["results"]}
    assert set(by) == {"pipeline-single", "pipeline-batch64", "engine-fp32", "engine-auto"}
    assert report["texts"] == 12 and by["pipeline-single"]["docs"] == 4 and by["engine-fp32"]["docs"] == 12
    single = by["pipeline-single"]["docs_per_s"]
    for r in by.values():
        assert r["docs_per_s"] > 0 and r["peak_rss_mb"] > 0
        assert r["x_pipeline_single"] == pytest.approx(r["docs_per_s"] / single)
    # auto times only gated backends: the tiny version has no held-out figures, so fp32 is all it has
    assert report["auto_cpu_backend"] == by["engine-auto"]["backend"] == "fp32"
    assert (tmp_path / "cache" / "auto-backend.json").is_file()
    ceiling = report["ceiling"]
    assert ceiling["gflops"]["fp32"] > 0 and ceiling["best"] in ceiling["gflops"]
    assert set(ceiling["gflops"]) | set(ceiling["skipped"]) == {"fp32", "int8", "bf16"}
    best = ceiling["gflops"][ceiling["best"]]
    assert ceiling["flops_per_doc"] > 0
    assert ceiling["ceiling_docs_per_s"] == pytest.approx(best * 1e9 / ceiling["flops_per_doc"])
    for r in by.values():
        assert r["x_ceiling"] == pytest.approx(r["gflops"] / best)
        assert r["gflops"] == pytest.approx(r["docs_per_s"] * ceiling["flops_per_doc"] / 1e9)
    profile = report["profile"]
    assert profile["backend"] == "fp32" and profile["docs"] == 12 and profile["forward_s"] > 0
    assert 0 < profile["matrix_share_of_ops"] <= 1 and profile["matrix_gflops"] > 0
    chart = plot_bench(report, tmp_path / "bench.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_flops_per_doc_counts_projections_ffn_and_attention() -> None:
    from benchmarks.ceiling import flops_per_doc

    shape = {"layers": 6, "hidden": 384, "intermediate": 1536}
    one = flops_per_doc(shape, 1)
    assert one == 6 * (8 * 384 * 384 + 4 * 384 * 1536 + 4 * 384)
    per_layer = 20 * (8 * 384**2 + 4 * 384 * 1536) + 4 * 20 * 20 * 384
    assert flops_per_doc(shape, 20) == pytest.approx(6 * per_layer)
    assert flops_per_doc({**shape, "layers": 3}, 20) == flops_per_doc(shape, 20) / 2
