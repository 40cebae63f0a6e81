"""Where the engine's time goes for one backend: tokeniser, padding, matrix ops, everything else.

Run by ``finsent bench inference`` for the ``auto`` choice, in its own process, on the bench's
texts: the end-to-end ``Classifier.predict`` time, then the same work split into tokenisation
(normalise + tokenise), padding, and the forward passes, profiled per operator (torch.profiler
for torch backends, ONNX Runtime's profiler for onnx-int8). Operator time is grouped into matrix
work (matmuls, fused attention), and the rest (norms, activations, softmax, quantisation,
copies), so the report says what bounds the engine besides the matrix ceiling.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["profile_engine"]

_TORCH_MATRIX = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "quantized::linear_dynamic")
_TORCH_ATTENTION = ("scaled_dot_product", "flash_attention")
_ORT_MATRIX = {
    "MatMul",
    "MatMulInteger",
    "Gemm",
    "FusedMatMul",
    "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul",
}
_ORT_ATTENTION = {"Attention", "QAttention", "MultiHeadAttention"}


def _category(op: str, *, onnx: bool) -> str:
    if onnx:
        if op in _ORT_MATRIX:
            return "matrix"
        return "attention" if op in _ORT_ATTENTION else op
    if op in _TORCH_MATRIX or op.startswith("mkldnn::") or ("linear" in op and "quantized" in op):
        return "matrix"
    return "attention" if any(k in op for k in _TORCH_ATTENTION) else op


def _batches(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[Any], float, float, int]:
    """Length-sorted padded batches of 64 (as the engine builds them), tokenise and pad seconds,
    and the padded token count."""
    import numpy as np

    from finsent.models.text import normalize_text

    t0 = time.perf_counter()
    enc = tokenizer([normalize_text(t) for t in texts], truncation=True, max_length=max_length)["input_ids"]
    t1 = time.perf_counter()
    enc = sorted(enc, key=len)
    out, padded = [], 0
    for i in range(0, len(enc), 64):
        chunk = enc[i : i + 64]
        width = max(len(s) for s in chunk)
        ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, seq in enumerate(chunk):
            ids[row, : len(seq)], mask[row, : len(seq)] = seq, 1
        out.append((ids, mask))
        padded += ids.size
    return out, t1 - t0, time.perf_counter() - t1, padded


def _torch_ops(backend: Any, batches: list[Any]) -> dict[str, float]:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches:
            backend.probs(batch)
    ops: dict[str, float] = defaultdict(float)
    for evt in prof.key_averages():
        ops[_category(evt.key, onnx=False)] += evt.self_cpu_time_total / 1e6
    return ops


def _onnx_ops(model_path: Path, threads: int, batches: list[Any], tmp: Path) -> dict[str, float]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.enable_profiling = True
    opts.profile_file_prefix = str(tmp / "ort")
    session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    session.run(None, {"input_ids": batches[0][0], "attention_mask": batches[0][1]})
    for ids, mask in batches:
        session.run(None, {"input_ids": ids, "attention_mask": mask})
    events = json.loads(Path(session.end_profiling()).read_text())
    ops: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            ops[_category(e.get("args", {}).get("op_name", "?"), onnx=True)] += e["dur"] / 1e6
    return ops


def profile_engine(
    model_path: str, texts: Sequence[str], threads: int, backend: str, tmp: str
) -> dict[str, Any]:
    """Profile ``Classifier`` with ``backend`` on ``texts`` (see the module docstring)."""
    import torch

    from finsent.models.backends import make_backend, onnx_cache_path
    from finsent.models.inference import Classifier
    from finsent.models.network import load_version

    torch.set_num_threads(threads)
    loaded = load_version(model_path)
    engine = make_backend(loaded, device="cpu", cpu_backend=backend)
    clf = Classifier(engine, loaded.tokenizer, loaded.version, batch_size=64)
    clf.predict(list(texts[:64]))
    t0 = time.perf_counter()
    clf.predict(list(texts))
    end_to_end = time.perf_counter() - t0
    batches, tokenise, pad, padded = _batches(loaded.tokenizer, texts, clf.max_length)
    t0 = time.perf_counter()
    for batch in batches:
        engine.probs(batch)
    forward = time.perf_counter() - t0
    if backend == "onnx-int8":
        ops = _onnx_ops(onnx_cache_path(loaded), threads, batches, Path(tmp))
    else:
        ops = _torch_ops(engine, batches)
    op_total = sum(ops.values()) or 1.0
    top = dict(sorted(ops.items(), key=lambda kv: -kv[1])[:8])
    return {
        "backend": backend,
        "docs": len(texts),
        "end_to_end_s": end_to_end,
        "tokenise_s": tokenise,
        "pad_s": pad,
        "forward_s": forward,
        "padded_tokens": padded,
        "op_seconds": {k: round(v, 4) for k, v in top.items()},
        "matrix_share_of_ops": (ops.get("matrix", 0.0) + ops.get("attention", 0.0)) / op_total,
        "matrix_s_scaled": forward * (ops.get("matrix", 0.0) + ops.get("attention", 0.0)) / op_total,
    }
