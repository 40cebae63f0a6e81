"""``finsent bench inference``: the engine vs the transformers ``pipeline`` on the same texts.

Each method runs in a fresh subprocess so its peak resident memory is its own; the timed part
excludes model loading and one warm-up call. Ratios are computed within one run.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from finsent.models.plots import agg_pyplot

__all__ = ["BenchResult", "bench_texts", "export_pipeline_model", "plot_bench", "run_inference_bench"]


@dataclass
class BenchResult:
    """Throughput of one method."""

    method: str
    docs: int
    seconds: float
    docs_per_s: float
    peak_rss_mb: float
    backend: str = ""  # what the engine ran (for engine-auto: the machine's choice)


def bench_texts(
    path: str | Path, n: int, tokenizer: Any, *, min_tokens: int = 10, max_tokens: int = 60
) -> list[str]:
    """Up to ``n`` normalised texts of ``min_tokens``..``max_tokens`` tokens from a labeled file."""
    from finsent.models.data import read_dataset
    from finsent.models.text import normalize_text

    p = Path(path)
    task = "topic" if "topic" in p.parts else "sentiment"
    texts = [normalize_text(e.text) for e in read_dataset(p, task).examples]  # type: ignore[arg-type]
    out = []
    for text, ids in zip(texts, tokenizer(texts)["input_ids"], strict=True):
        if min_tokens <= len(ids) <= max_tokens:
            out.append(text)
        if len(out) >= n:
            break
    return out


def export_pipeline_model(model_path: str | Path, out_dir: Path) -> Path:
    """The same encoder + sentiment head as a ``BertForSequenceClassification`` directory."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from finsent.models.network import load_version, resolve_base_model

    loaded = load_version(model_path)
    base = resolve_base_model(loaded.manifest.get("base_model"))
    config = AutoConfig.from_pretrained(base, num_labels=3)
    hf = AutoModelForSequenceClassification.from_config(config)  # type: ignore[no-untyped-call]  # untyped API
    getattr(hf, hf.base_model_prefix).load_state_dict(loaded.model.encoder.state_dict(), strict=False)
    with torch.no_grad():
        hf.classifier.weight.copy_(loaded.model.sentiment_head.weight)
        hf.classifier.bias.copy_(loaded.model.sentiment_head.bias)
    hf.save_pretrained(str(out_dir))
    loaded.tokenizer.save_pretrained(str(out_dir))
    return out_dir


def _measure(method: str, model_path: str, hf_dir: str, texts: list[str], threads: int, q: Any) -> None:
    import torch

    from finsent.models.quiet import quiet_third_party

    quiet_third_party()
    torch.set_num_threads(threads)
    backend = ""
    if method.startswith("pipeline"):
        from transformers import pipeline

        pipe = pipeline("text-classification", model=hf_dir, device=-1, truncation=True)
        pipe(texts[:2])
        start = time.perf_counter()
        if method == "pipeline-single":
            for text in texts:
                pipe(text)
        else:
            pipe(texts, batch_size=64)
    else:
        from finsent.models.inference import Classifier

        device = "cuda" if method.startswith("engine-cuda") else "cpu"
        choice = method.removeprefix("engine-") if device == "cpu" else "auto"
        clf = Classifier.load(model_path, device=device, cpu_backend=choice, batch_size=64)
        backend = clf.backend_name
        clf.predict(texts[:64])
        start = time.perf_counter()
        clf.predict(texts)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q.put(asdict(BenchResult(method, len(texts), seconds, len(texts) / seconds, peak_mb, backend)))


def _measure_profile(model_path: str, texts: list[str], threads: int, backend: str, tmp: str, q: Any) -> None:
    from benchmarks.inference_profile import profile_engine
    from finsent.models.quiet import quiet_third_party

    quiet_third_party()
    q.put(profile_engine(model_path, texts, threads, backend, tmp))


def _measure_ceiling(rows: int, hidden: int, intermediate: int, threads: int, q: Any) -> None:
    from benchmarks.ceiling import matmul_ceilings

    q.put(matmul_ceilings(rows, hidden, intermediate, threads))


def _result(proc: Any, q: Any, method: str) -> dict[str, Any]:
    """The measuring process's figures; fails (instead of waiting forever) if it died first."""
    while True:
        alive = proc.is_alive()  # looked at first: a result put just before exiting is still read
        try:
            return q.get(timeout=5)  # type: ignore[no-any-return]  # what _measure put
        except queue.Empty:
            if not alive:
                raise RuntimeError(f"{method}: the measuring process exited ({proc.exitcode})") from None


#: Imported once by the fork server, not again by every measuring process (each would spend
#: seconds on it); none of them starts a thread pool or touches CUDA on import. ``transformers``
#: itself imports its models lazily, on first use: the model, tokenizer and pipeline modules are
#: named, or each process would import them again (about 6 s each on a 2-core Zen 3).
_PRELOAD = [
    "torch",
    "transformers",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.models.bert.modeling_bert",
    "transformers.pipelines",
    "onnxruntime",
    "finsent.models.inference",
]


def _measuring_context() -> Any:
    """Processes forked from a server that has imported the model libraries (fresh state each).

    Each method still runs in a process of its own (its own peak RSS, no warm caches from
    another method); the libraries' import footprint is in every figure, as it was with spawn.
    """
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read at import time, by the server too
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _spawn(ctx: Any, target: Any, args: tuple[Any, ...], label: str) -> Any:
    """Run ``target(*args, q)`` in a fresh process and return what it put on ``q``."""
    q = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, q))
    proc.start()
    try:
        return _result(proc, q, label)
    finally:
        proc.join()


def _add_ceiling(report: dict[str, Any], ceiling: dict[str, Any], shapes: dict[str, dict[str, int]]) -> None:
    """Each method's achieved GFLOP/s and its fraction of the best measured matrix ceiling."""
    from benchmarks.ceiling import flops_per_doc

    best_name = max(ceiling["gflops"], key=ceiling["gflops"].__getitem__)
    best = ceiling["gflops"][best_name]
    mean = report["mean_tokens"]
    full = flops_per_doc(shapes["full"], mean)
    ceiling.update(best=best_name, flops_per_doc=full, ceiling_docs_per_s=best * 1e9 / full)
    for r in report["results"]:
        per_doc = flops_per_doc(shapes["distilled" if r["backend"] == "distilled" else "full"], mean)
        r["gflops"] = r["docs_per_s"] * per_doc / 1e9
        r["x_ceiling"] = r["gflops"] / best
    report["ceiling"] = ceiling


def run_inference_bench(
    model_path: str | Path,
    data: str | Path,
    *,
    n: int = 1024,
    n_single: int = 256,
    backends: Sequence[str] | None = None,
    threads: int = 2,
    cuda: bool = False,
) -> dict[str, Any]:
    """Run every method on the same texts and return figures and ratios (JSON-ready).

    Besides the ratios to the transformers pipeline, the report holds this machine's matrix
    ceiling at the model's shapes (``ceiling``: GFLOP/s per precision, FLOPs per document at the
    measured mean length) and each method's fraction of the best ceiling (``x_ceiling``).
    ``engine-auto`` is what ``cpu_backend="auto"`` picks here (``auto_cpu_backend``).
    """
    from transformers import AutoConfig, AutoTokenizer

    from benchmarks.ceiling import model_shape
    from finsent.models.distill import has_distilled
    from finsent.models.network import read_manifest, resolve_base_model

    manifest = read_manifest(model_path)
    if backends is None:
        extra = ("distilled",) if has_distilled(model_path, manifest) else ()
        backends = ("fp32", "bf16", "torch-int8", "onnx-int8", *extra)
    base = resolve_base_model(manifest.get("base_model"))
    tok = AutoTokenizer.from_pretrained(base)
    texts = bench_texts(data, n, tok)
    lengths = [len(ids) for ids in tok(texts)["input_ids"]]
    mean_tokens = sum(lengths) / len(lengths)
    methods = ["pipeline-single", "pipeline-batch64", *[f"engine-{b}" for b in backends], "engine-auto"]
    if cuda:
        methods.append("engine-cuda")
    config = AutoConfig.from_pretrained(base)
    shapes = {
        "full": model_shape(manifest, config),
        "distilled": model_shape(manifest, config, distilled=True),
    }
    ctx = _measuring_context()
    rows = round(64 * mean_tokens)  # one engine batch of tokens
    ceiling = _spawn(
        ctx,
        _measure_ceiling,
        (rows, shapes["full"]["hidden"], shapes["full"]["intermediate"], threads),
        "ceiling",
    )
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = export_pipeline_model(model_path, Path(tmp) / "hf")
        for method in methods:
            subset = texts[:n_single] if method == "pipeline-single" else texts
            args = (method, str(model_path), str(hf_dir), subset, threads)
            results.append(_spawn(ctx, _measure, args, method))
        auto = next(r["backend"] for r in results if r["method"] == "engine-auto")
        profile = _spawn(ctx, _measure_profile, (str(model_path), texts, threads, auto, tmp), "profile")
    by = {r["method"]: r for r in results}
    single, batch = by["pipeline-single"]["docs_per_s"], by["pipeline-batch64"]["docs_per_s"]
    for r in results:
        r["x_pipeline_single"] = r["docs_per_s"] / single
        r["x_pipeline_batch64"] = r["docs_per_s"] / batch
    report = {
        "model_version": manifest["version"],
        "texts": len(texts),
        "mean_tokens": mean_tokens,
        "threads": threads,
        "cpu": ceiling["cpu"]["model"],
        "auto_cpu_backend": by["engine-auto"]["backend"],
        "results": results,
    }
    _add_ceiling(report, ceiling, shapes)
    report["profile"] = _with_matrix_rate(profile, ceiling, shapes["full"])
    return report


#: The ceiling precision each backend's matrix work runs in.
_PRECISION = {"bf16": "bf16", "onnx-int8": "int8", "torch-int8": "int8"}


def _with_matrix_rate(
    profile: dict[str, Any], ceiling: dict[str, Any], shape: dict[str, int]
) -> dict[str, Any]:
    """The profile plus the GFLOP/s inside the matrix ops (on the padded tokens actually computed)
    and that rate's fraction of the same precision's measured ceiling."""
    from benchmarks.ceiling import flops_per_doc

    docs = profile["docs"]
    flops = flops_per_doc(shape, profile["padded_tokens"] / docs) * docs
    precision = _PRECISION.get(profile["backend"], "fp32")
    rate = flops / max(profile["matrix_s_scaled"], 1e-9) / 1e9
    same = ceiling["gflops"].get(precision)
    return {
        **profile,
        "matrix_gflops": rate,
        "precision": precision,
        "x_same_precision_ceiling": rate / same if same else None,
    }


def plot_bench(report: dict[str, Any], path: Path) -> Path:
    """Bar chart of ``finsent bench inference``: docs/s per method, with the x-baseline ratios."""
    plt = agg_pyplot()
    rows = report["results"]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    names = [r["method"] for r in rows]
    rates = [r["docs_per_s"] for r in rows]
    colors = ["#999999" if n.startswith("pipeline") else "#1f77b4" for n in names]
    ax.barh(names, rates, color=colors)
    for i, r in enumerate(rows):
        label = f" {r['docs_per_s']:.0f}/s  ({r['x_pipeline_single']:.2f}x, {r['x_pipeline_batch64']:.2f}x"
        label += f"; {100 * r['x_ceiling']:.0f}% of ceiling)" if "x_ceiling" in r else ")"
        ax.text(r["docs_per_s"], i, label, va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(rates) * 1.7)
    ceiling = report.get("ceiling")
    if ceiling:
        ax.axvline(ceiling["ceiling_docs_per_s"], color="#d62728", linestyle="--", linewidth=1)
        ax.set_xlim(0, max(max(rates) * 1.7, ceiling["ceiling_docs_per_s"] * 1.05))
    ax.set_xlabel(
        "docs/s (x one-at-a-time pipeline, x batch-64 pipeline; share of the best matrix ceiling, dashed)"
    )
    ax.set_title(
        f"{report['model_version']}: {report['texts']} headlines, mean {report['mean_tokens']:.1f} tokens, "
        f"{report['threads']} threads; CPU auto = {report['auto_cpu_backend']}\n{report.get('cpu', '')}"
        + (
            f"; ceiling {ceiling['best']} {ceiling['gflops'][ceiling['best']]:.0f} GFLOP/s" if ceiling else ""
        ),
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
