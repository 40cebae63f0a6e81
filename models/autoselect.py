"""``cpu_backend="auto"``: the fastest CPU path that passes the quality gate, measured on this machine.

At the first load of a version on a machine, every eligible backend (quality gate passed, and its
matrix instructions native on this CPU) is built and timed on a small fixed sample of headlines
(round-robin, best of a few rounds, a few seconds in all). The winner is cached per
(version + weights, CPU model, thread count) in ``auto-backend.json`` next to the ONNX exports,
so later loads build only the winner. A different thread count, CPU or set of eligible backends
decides again.

Quality gate: a backend is eligible only if the version's manifest holds its held-out figures
(``metrics["<split>/<task> (<backend>)"]``, written by ``finsent models gate``) and its macro-F1
is within :data:`MAX_DROP` of fp32 on every such split and task; the distilled variant uses its
own recorded gate. fp32 is the reference and always eligible.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.cpu import cpu_info

if TYPE_CHECKING:
    from finsent.models.backends import Backend
    from finsent.models.network import LoadedModel, VersionFiles

__all__ = [
    "CACHE_FILE",
    "MAX_DROP",
    "AutoChoice",
    "announce_cached",
    "cached_choice",
    "choose_backend",
    "decisions",
    "eligibility",
    "gate_table",
]

log = logging.getLogger(__name__)

CACHE_FILE = "auto-backend.json"
#: Largest macro-F1 drop from fp32 (0.5 points) a backend may show on held-out data.
MAX_DROP = 0.005
_METRIC_KEY = re.compile(r"^(?P<split>[^/]+)/(?P<task>topic|sentiment) \((?P<backend>[^)]+)\)$")
#: Headline-like texts of typical length (~12-25 tokens): what the stream scores.
_SAMPLE = (
    "Apple beats estimates and raises its full-year revenue guidance as iPhone sales jump",
    "Oil prices slide as OPEC signals higher output and demand worries weigh on crude",
    "Fed holds rates steady but signals two cuts later this year, Treasury yields fall",
    "Bank shares tumble after a surprise loss and a dividend cut at the regional lender",
    "Tesla recalls 200,000 vehicles over a software fault; shares slip in premarket trade",
    "Gold hits a record high as the dollar weakens and investors seek safe havens",
    "Microsoft to acquire a cybersecurity startup for $4 billion in an all-cash deal",
    "Retail sales rise more than expected in March, lifting hopes for a soft landing",
)
_SAMPLE_DOCS = 64  # one engine batch
_MIN_ROUNDS, _MAX_ROUNDS, _BUDGET_S = 2, 5, 3.0


@dataclass(frozen=True)
class AutoChoice:
    """What ``auto`` picked on this machine, and why (logged, cached, shown by ``models show``)."""

    backend: str
    docs_per_s: dict[str, float]  # measured on the sample, per timed backend
    ineligible: dict[str, str]  # backend -> reason it was not timed
    cpu: str
    threads: int
    version: str
    decided_at: str = ""
    cached: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        out = asdict(self)
        out.pop("cached")
        return out


def gate_table(manifest: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Macro-F1 drop from fp32 per backend and ``split/task`` found in the manifest's metrics."""
    metrics = manifest.get("metrics", {})
    by: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in metrics.items():
        m = _METRIC_KEY.match(key)
        if m and isinstance(value, Mapping) and "macro_f1" in value:
            by.setdefault((m["split"], m["task"]), {})[m["backend"]] = float(value["macro_f1"])
    out: dict[str, dict[str, float]] = {}
    for (split, task), row in sorted(by.items()):
        if "fp32" not in row:
            continue
        for backend, f1 in row.items():
            if backend != "fp32":
                out.setdefault(backend, {})[f"{split}/{task}"] = row["fp32"] - f1
    return out


def eligibility(manifest: Mapping[str, Any], candidates: Sequence[str]) -> dict[str, str]:
    """Why each candidate may not be timed (an empty string means eligible).

    Args:
        manifest: The version's manifest (quality figures).
        candidates: CPU backend names to consider.
    """
    from finsent.models.distill import gate_passed

    drops, cpu = gate_table(manifest), cpu_info()
    reasons: dict[str, str] = {}
    for name in candidates:
        if name == "fp32":
            reasons[name] = ""
        elif name == "distilled":
            reasons[name] = "" if gate_passed(dict(manifest)) else "distilled variant missing or gate failed"
        elif name not in drops:
            reasons[name] = "no held-out figures in the manifest (finsent models gate)"
        elif (worst := max(drops[name].values())) > MAX_DROP:
            reasons[name] = f"quality gate failed: macro-F1 {100 * worst:.2f} points below fp32"
        elif name == "bf16" and not cpu.bf16:
            reasons[name] = f"no native bf16 on this CPU ({cpu.capability}; needs AVX-512 BF16 or AMX)"
        else:
            reasons[name] = ""
    return reasons


def _cache_key(loaded: LoadedModel | VersionFiles, threads: int) -> str:
    weights = sorted(p for p in loaded.path.iterdir() if p.suffix == ".safetensors")
    stamp = ",".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights)
    return f"{loaded.version}|{stamp}|{cpu_info().model}|{threads}"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, key: str, entry: dict[str, Any]) -> None:
    """Merge one entry into the cache file (atomic replace; a lost race only costs a re-timing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _read_cache(path)
    data[key] = entry
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def cached_choice(loaded: LoadedModel | VersionFiles, cache_dir: Path, threads: int) -> AutoChoice | None:
    """The decision cached for this version, CPU and thread count, if any."""
    entry = _read_cache(cache_dir / CACHE_FILE).get(_cache_key(loaded, threads))
    if not isinstance(entry, dict):
        return None
    try:
        return AutoChoice(**entry, cached=True)
    except TypeError:  # an entry written by another finsent version
        return None


def announce_cached(choice: AutoChoice) -> None:
    """Log that a cached decision is used (the timed one is logged with its figures)."""
    log.info(
        "auto backend for %s: %s (decided %s, cached)", choice.version, choice.backend, choice.decided_at
    )


def decisions(cache_dir: Path, version: str) -> list[dict[str, Any]]:
    """Every cached ``auto`` decision for ``version`` (one per CPU model and thread count), with
    ``this_machine`` marking those for this CPU."""
    out = []
    for entry in _read_cache(cache_dir / CACHE_FILE).values():
        if isinstance(entry, dict) and entry.get("version") == version:
            out.append({**entry, "this_machine": entry.get("cpu") == cpu_info().model})
    return sorted(out, key=lambda e: (not e["this_machine"], str(e.get("decided_at"))))


def _sample_batch(loaded: LoadedModel, docs: int) -> tuple[Any, Any]:
    """The sample as one padded engine batch (int64 ids and mask, like ``Classifier`` feeds)."""
    import numpy as np

    texts = [_SAMPLE[i % len(_SAMPLE)] for i in range(docs)]
    seqs = loaded.tokenizer(texts, truncation=True, max_length=128)["input_ids"]
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), int(loaded.tokenizer.pad_token_id or 0), dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)], mask[row, : len(seq)] = seq, 1
    return ids, mask


def _time(backends: Mapping[str, Backend], batch: tuple[Any, Any]) -> dict[str, float]:
    """Docs/s of each backend on ``batch``: round-robin rounds (fair under shared-CPU noise),
    the best round of each."""
    for backend in backends.values():
        backend.probs(batch)  # warm-up: first-call allocations, oneDNN primitive creation
    best = dict.fromkeys(backends, float("inf"))
    start = time.perf_counter()
    for rounds in range(1, _MAX_ROUNDS + 1):
        for name, backend in backends.items():
            t0 = time.perf_counter()
            backend.probs(batch)
            best[name] = min(best[name], time.perf_counter() - t0)
        if rounds >= _MIN_ROUNDS and time.perf_counter() - start > _BUDGET_S:
            break
    n = len(batch[0])
    return {name: n / seconds for name, seconds in best.items()}


def choose_backend(
    loaded: LoadedModel,
    *,
    candidates: Sequence[str],
    build: Callable[[str], Backend],
    cache_dir: Path,
    threads: int,
    sample_docs: int = _SAMPLE_DOCS,
) -> tuple[AutoChoice, Backend]:
    """Pick (and build) the fastest eligible CPU backend of ``loaded`` on this machine.

    A cached decision for the same version, CPU and thread count is reused without timing, as
    long as the backend it names is still eligible.

    Args:
        loaded: The loaded version.
        candidates: CPU backend names to consider (fp32 should be among them).
        build: Builds one backend by name.
        cache_dir: Where ``auto-backend.json`` lives.
        threads: Intra-op threads the backends run with (part of the cache key).
        sample_docs: Headlines in the timed batch (one engine batch by default).
    """
    reasons = eligibility(loaded.manifest, candidates)
    eligible = [n for n in candidates if not reasons[n]]
    hit = cached_choice(loaded, cache_dir, threads)
    if hit is not None and hit.backend in eligible:
        announce_cached(hit)
        return hit, build(hit.backend)
    built: dict[str, Backend] = {}
    for name in eligible:
        try:
            built[name] = build(name)
        except Exception as exc:  # an optional path that cannot be built here (export, runtime) is skipped
            if name == "fp32":
                raise
            log.warning("auto: %s could not be built here, not timed: %s", name, exc)
            reasons[name] = f"could not be built: {exc}"
    rates = _time(built, _sample_batch(loaded, sample_docs))
    winner = max(rates, key=rates.__getitem__)
    choice = AutoChoice(
        backend=winner,
        docs_per_s={k: round(v, 1) for k, v in rates.items()},
        ineligible={k: v for k, v in reasons.items() if v},
        cpu=cpu_info().model,
        threads=threads,
        version=loaded.version,
        decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write_cache(cache_dir / CACHE_FILE, _cache_key(loaded, threads), choice.to_dict())
    figures = ", ".join(f"{k} {v:.0f}" for k, v in choice.docs_per_s.items())
    log.info(
        "auto backend for %s on %s x%d threads: %s (docs/s on %d sample headlines: %s; not timed: %s)",
        loaded.version,
        choice.cpu,
        threads,
        winner,
        sample_docs,
        figures,
        choice.ineligible or "none",
    )
    return choice, built[winner]
