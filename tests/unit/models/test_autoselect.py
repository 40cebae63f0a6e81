"""``cpu_backend="auto"`` on the real shipped model: timed once per (version, CPU, threads), cached,
never a backend that failed the quality gate. (What wins is the machine's business, not a test's.)"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from finsent.models import autoselect
from finsent.models.autoselect import CACHE_FILE, MAX_DROP, choose_backend, eligibility, gate_table
from finsent.models.registry import DEFAULT_MODEL_DIR


@pytest.fixture(scope="module")
def shipped() -> Any:
    from finsent.models.network import load_version

    return load_version(DEFAULT_MODEL_DIR)


def _with_figures(loaded: Any, **drops: float) -> Any:
    """``loaded`` with held-out figures that put each backend ``drops[name]`` below fp32."""
    out = copy.copy(loaded)
    manifest = copy.deepcopy(loaded.manifest)
    fp32 = manifest["metrics"]["valid/sentiment (fp32)"]["macro_f1"]
    for name, drop in drops.items():
        name = name.replace("_", "-")
        for task in ("sentiment", "topic"):
            ref = manifest["metrics"][f"valid/{task} (fp32)"]["macro_f1"] if task == "topic" else fp32
            manifest["metrics"][f"valid/{task} ({name})"] = {"macro_f1": ref - drop, "accuracy": 0.0}
    out.manifest = manifest
    return out


class _Recorder:
    """Builds real backends and remembers which; counts real timings."""

    def __init__(self, loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        from finsent.models.backends import make_backend

        self.built: list[str] = []
        self.timings = 0
        self._make = lambda name: make_backend(loaded, device="cpu", cpu_backend=name)
        real = autoselect._time

        def counted(backends: Any, batch: Any) -> dict[str, float]:
            self.timings += 1
            return real(backends, batch)

        monkeypatch.setattr(autoselect, "_time", counted)

    def build(self, name: str) -> Any:
        self.built.append(name)
        return self._make(name)

    def choose(self, loaded: Any, cache_dir: Path, candidates: list[str], threads: int = 2) -> Any:
        """``choose_backend`` on 4 sample documents, building through this recorder."""
        return choose_backend(
            loaded,
            candidates=candidates,
            build=self.build,
            cache_dir=cache_dir,
            threads=threads,
            sample_docs=4,
        )


def test_the_shipped_gate_table_reads_the_card_figures(shipped: Any) -> None:
    metrics = shipped.manifest["metrics"]
    drops = gate_table(shipped.manifest)
    for backend, rows in drops.items():
        for split_task, drop in rows.items():
            ref = metrics[f"{split_task} (fp32)"]["macro_f1"]
            assert drop == pytest.approx(ref - metrics[f"{split_task} ({backend})"]["macro_f1"])
    assert {"onnx-int8", "torch-int8"} <= set(drops)
    reasons = eligibility(shipped.manifest, ["fp32", *drops])
    assert reasons["fp32"] == ""
    for backend, rows in drops.items():
        failed = max(rows.values()) > MAX_DROP
        assert ("gate failed" in reasons[backend]) is failed, (backend, rows, reasons[backend])


def test_a_cached_decision_is_reused_without_timing(
    shipped: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _with_figures(shipped, torch_int8=0.001)
    rec = _Recorder(loaded, monkeypatch)
    first, backend = rec.choose(loaded, tmp_path, ["fp32", "torch-int8"])
    assert rec.timings == 1 and sorted(rec.built) == ["fp32", "torch-int8"]
    assert set(first.docs_per_s) == {"fp32", "torch-int8"} and first.backend == backend.name
    assert (tmp_path / CACHE_FILE).is_file() and not first.cached
    rec.built.clear()
    again, backend2 = rec.choose(loaded, tmp_path, ["fp32", "torch-int8"])
    assert rec.timings == 1 and rec.built == [first.backend]  # only the winner is built
    assert again.cached and again.backend == first.backend == backend2.name
    assert again.docs_per_s == first.docs_per_s


def test_a_backend_that_failed_the_gate_is_never_timed_or_chosen(
    shipped: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _with_figures(shipped, torch_int8=MAX_DROP + 0.001)
    rec = _Recorder(loaded, monkeypatch)
    choice, backend = rec.choose(loaded, tmp_path, ["fp32", "torch-int8"])
    assert choice.backend == backend.name == "fp32" and rec.built == ["fp32"]
    assert "gate failed" in choice.ineligible["torch-int8"]
    # A cached choice that has since failed its gate is not reused either.
    passing = _with_figures(shipped, torch_int8=0.0)
    autoselect._write_cache(
        tmp_path / CACHE_FILE,
        autoselect._cache_key(loaded, 2),
        {**choice.to_dict(), "backend": "torch-int8"},
    )
    assert autoselect.cached_choice(passing, tmp_path, 2) is not None
    rec.built.clear()
    again, _ = rec.choose(loaded, tmp_path, ["fp32", "torch-int8"])
    assert again.backend == "fp32" and "torch-int8" not in rec.built and rec.timings == 2


def test_another_thread_count_decides_again(
    shipped: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = _Recorder(shipped, monkeypatch)

    def choose(threads: int) -> Any:
        return rec.choose(shipped, tmp_path, ["fp32"], threads)[0]

    two, one = choose(2), choose(1)
    assert rec.timings == 2 and (two.threads, one.threads) == (2, 1) and not one.cached
    assert choose(1).cached and choose(2).cached and rec.timings == 2
    shown = autoselect.decisions(tmp_path, shipped.version)  # what `finsent models show` prints
    assert sorted(d["threads"] for d in shown) == [1, 2] and all(d["this_machine"] for d in shown)
    assert all(d["backend"] == "fp32" and d["docs_per_s"]["fp32"] > 0 for d in shown)


def test_bf16_needs_figures_and_native_support(shipped: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from finsent.models.cpu import CpuInfo

    bare = copy.deepcopy(shipped.manifest)
    bare["metrics"] = {k: v for k, v in bare["metrics"].items() if "(bf16)" not in k}
    assert "no held-out figures" in eligibility(bare, ["bf16"])["bf16"]
    gated = _with_figures(shipped, bf16=0.001).manifest
    for native, eligible in ((False, False), (True, True)):
        info = CpuInfo("test cpu", "AVX2", bf16=native, int8=False, amx=False, flags=())
        monkeypatch.setattr(autoselect, "cpu_info", lambda info=info: info)
        assert (eligibility(gated, ["bf16"])["bf16"] == "") is eligible
