"""A version already exported to ONNX on this machine loads without building its torch encoder.

What a worker's restart costs is mostly imports: transformers' model classes alone take about
7 s on a 2-core Zen 3. Once the int8 export is cached (and, for ``auto``, once ``auto`` chose it
here), ``Classifier.load`` runs that export with the tokenizer and the small entity head only. It
must score exactly as the whole version on the same export, and fall back to the whole version
whenever anything it relies on is not cached.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from finsent.models import autoselect
from finsent.models.cached_load import load_cached_onnx
from finsent.models.entities import EntityTarget
from finsent.models.registry import DEFAULT_MODEL_DIR

TEXTS = [
    "Regulators move to block Harbor Logistics takeover of Crestline Bank",
    "Acme Robotics credit rating cut to junk as losses widen",
    "Fed holds rates steady but signals two cuts later this year",
]
TARGETS = [
    [EntityTarget("HARBOR", ((22, 38),)), EntityTarget("CREST", ((51, 64),))],
    [EntityTarget("ACME", ((0, 13),))],
    [],
]


def _figures(clf: Any) -> list[Any]:
    return [
        (s.topic_probs, s.sentiment_probs, [(e.key, e.sentiment_probs) for e in s.entities])
        for s in clf.predict(TEXTS, TARGETS)
    ]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """An ONNX cache holding the shipped model's export, and what the whole-version load scored."""
    from finsent.models import Classifier

    cache = tmp_path_factory.mktemp("onnx-cache")
    assert load_cached_onnx(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="onnx-int8", cache_dir=cache) is None
    whole = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="onnx-int8", cache_dir=cache)
    assert len(list(cache.glob("*.int8.onnx"))) == 1
    first = _figures(whole)
    # The process that exported scores as every later one: its model (entity head included) is
    # still in eval mode after the export (it was left training, dropout on, before the fix).
    assert _figures(whole) == first
    return cache, first


def test_a_cached_export_scores_exactly_as_the_whole_version(
    exported: tuple[Path, list[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    from finsent.models import Classifier

    cache, whole = exported
    with caplog.at_level(logging.INFO, logger="finsent.models.inference"):
        light = Classifier.load(DEFAULT_MODEL_DIR, device="cpu", cpu_backend="onnx-int8", cache_dir=cache)
    assert "the torch encoder was not built" in caplog.text
    assert light.backend_name == "onnx-int8" and light.has_entity_head
    assert _figures(light) == whole  # the same export, tokenizer and entity head: the same numbers
    assert [len(e) for _, _, e in whole] == [2, 1, 0]


def _gated_copy(tmp_path: Path, onnx_drop: float) -> Path:
    """The shipped version with the same weight files (same mtimes: the same export and cache key)
    whose manifest says onnx-int8 scores ``onnx_drop`` macro-F1 below fp32 on every file."""
    import shutil

    from finsent.models.network import read_manifest

    copy = tmp_path / "v"
    shutil.copytree(DEFAULT_MODEL_DIR, copy)  # copy2 keeps mtimes
    manifest = read_manifest(copy)
    metrics = manifest["metrics"]
    for key in [k for k in metrics if k.endswith("(onnx-int8)")]:
        fp32 = metrics[key.replace("(onnx-int8)", "(fp32)")]
        metrics[key] = {**metrics[key], "macro_f1": fp32["macro_f1"] - onnx_drop}
    (copy / "finsent_model.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return copy


def test_auto_uses_the_export_only_when_it_chose_onnx_here(
    exported: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    import torch

    from finsent.models.network import VersionFiles, read_manifest

    cache, _ = exported
    version = _gated_copy(tmp_path, onnx_drop=0.001)  # within the gate, whatever the shipped figures
    assert load_cached_onnx(version, device="cpu", cache_dir=cache) is None  # nothing decided yet
    manifest = read_manifest(version)
    names = VersionFiles(manifest, version)
    key = autoselect._cache_key(names, torch.get_num_threads())
    decided = {
        "docs_per_s": {"fp32": 100.0, "onnx-int8": 300.0},
        "ineligible": {},
        "cpu": "test cpu",
        "threads": torch.get_num_threads(),
        "version": manifest["version"],
        "decided_at": "2026-12-03T00:00:00+00:00",
    }
    autoselect._write_cache(cache / autoselect.CACHE_FILE, key, {**decided, "backend": "fp32"})
    assert load_cached_onnx(version, device="cpu", cache_dir=cache) is None  # fp32 needs the encoder
    autoselect._write_cache(cache / autoselect.CACHE_FILE, key, {**decided, "backend": "onnx-int8"})
    got = load_cached_onnx(version, device="cpu", cache_dir=cache)
    assert got is not None and got.backend.name == "onnx-int8"
    assert got.backend.auto_choice.backend == "onnx-int8" and got.backend.auto_choice.cached  # type: ignore[attr-defined]
    for other in ("fp32", "torch-int8", "bf16"):
        assert load_cached_onnx(version, device="cpu", cpu_backend=other, cache_dir=cache) is None
    assert load_cached_onnx(version, device="cuda", cpu_backend="onnx-int8", cache_dir=cache) is None
    # a cached onnx choice does not outlive a failed gate (e.g. figures re-measured since)
    failed = _gated_copy(tmp_path / "failed", onnx_drop=0.01)
    assert load_cached_onnx(failed, device="cpu", cache_dir=cache) is None
    assert load_cached_onnx(failed, device="cpu", cpu_backend="onnx-int8", cache_dir=cache) is not None


def test_a_version_whose_weights_changed_is_not_served_from_the_old_export(
    exported: tuple[Path, list[Any]], tmp_path: Path
) -> None:
    import shutil

    cache, _ = exported
    copy = tmp_path / "v"
    shutil.copytree(
        DEFAULT_MODEL_DIR, copy, copy_function=shutil.copy
    )  # new mtimes: other weights to the cache
    assert load_cached_onnx(copy, device="cpu", cpu_backend="onnx-int8", cache_dir=cache) is None


def test_a_fresh_process_loads_the_export_without_transformers_model_classes(
    exported: tuple[Path, list[Any]],
) -> None:
    cache, whole = exported
    script = (
        "import json, sys\n"
        "from finsent.models import Classifier\n"
        "from finsent.models.entities import EntityTarget\n"
        f"clf = Classifier.load({str(DEFAULT_MODEL_DIR)!r}, device='cpu', cpu_backend='onnx-int8',"
        f" cache_dir={str(cache)!r})\n"
        "rows = json.loads(sys.argv[2])\n"
        "targets = [[EntityTarget(k, tuple(map(tuple, s))) for k, s in row] for row in rows]\n"
        "scores = clf.predict(json.loads(sys.argv[1]), targets)\n"
        "print(json.dumps({'modules': sorted(m for m in sys.modules if m.startswith('transformers.models.')),"
        " 'sentiment': [list(s.sentiment_probs) for s in scores]}))\n"
    )
    targets = [[(t.key, [list(s) for s in t.spans]) for t in row] for row in TARGETS]
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(TEXTS), json.dumps(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert not [m for m in got["modules"] if ".modeling_" in m or m.endswith(".auto.modeling_auto")]
    assert "transformers.models.bert.tokenization_bert" in got["modules"]  # the class the config names
    assert got["sentiment"] == [list(p) for _, p, _ in whole]
    assert "UNEXPECTED" not in out.stderr  # transformers' load report of the unused pooler is gone too
