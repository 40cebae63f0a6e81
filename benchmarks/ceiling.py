"""The machine's matrix ceiling for the model, measured in the same run as ``finsent bench inference``.

* :func:`matmul_ceilings`: GFLOP/s of one matrix multiply at the model's shapes (a batch of 64
  texts of the measured mean length, times hidden x intermediate: the feed-forward matmul that
  holds two thirds of the encoder's FLOPs) in fp32, int8 (``torch._int_mm``; oneDNN/FBGEMM VNNI
  or AMX where present) and bf16 where the CPU has native bf16 (emulated bf16 is no ceiling);
* :func:`flops_per_doc`: the encoder's multiply-add FLOPs for one text of ``tokens`` tokens.

A method's fraction of the ceiling is its docs/s x its FLOPs per doc / the best ceiling.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["flops_per_doc", "matmul_ceilings", "model_shape"]

_SECONDS = 0.6  # per precision: long enough to average out scheduler noise, short enough for a bench


def model_shape(
    manifest: Mapping[str, Any], encoder_config: Any, *, distilled: bool = False
) -> dict[str, int]:
    """Layers, hidden and intermediate width of the encoder (the distilled variant keeps fewer layers)."""
    layers = int(encoder_config.num_hidden_layers)
    if distilled:
        layers = len((manifest.get("distilled") or {}).get("layers") or range(layers))
    return {
        "layers": layers,
        "hidden": int(encoder_config.hidden_size),
        "intermediate": int(encoder_config.intermediate_size),
    }


def flops_per_doc(shape: Mapping[str, int], tokens: float) -> float:
    """FLOPs (2 per multiply-add) of the encoder for one text of ``tokens`` tokens.

    Per layer: Q, K, V and output projections ``4 * 2 L d^2``, feed-forward ``2 * 2 L d f``,
    attention scores and weighted values ``2 * 2 L^2 d``. Embeddings, norms, softmax and the
    two small heads are not matrix work worth counting (< 1%).
    """
    n, d, f = tokens, shape["hidden"], shape["intermediate"]
    per_layer = 8 * n * d * d + 4 * n * d * f + 4 * n * n * d
    return float(shape["layers"] * per_layer)


def _rate(fn: Callable[[], Any], flops: float) -> float:
    """GFLOP/s of the fastest call: the hardware's rate; slower calls measure the neighbours (a
    shared machine's other processes preempting a thread stalls the whole multiply)."""
    fn()  # warm-up: kernel selection, packing buffers
    best, runs, start = float("inf"), 0, time.perf_counter()
    while time.perf_counter() - start < _SECONDS or runs < 3:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return flops / best / 1e9


def matmul_ceilings(rows: int, hidden: int, intermediate: int, threads: int) -> dict[str, Any]:
    """GFLOP/s of a ``(rows x hidden) @ (hidden x intermediate)`` matmul per precision.

    Args:
        rows: Tokens in one batch (batch size x mean length).
        hidden: Encoder width.
        intermediate: Feed-forward width.
        threads: torch intra-op threads (the methods' thread count).

    Returns:
        ``{"gflops": {precision: GFLOP/s}, "skipped": {precision: why}, "cpu": {...}, "shape": [...]}``.
    """
    import torch

    from finsent.models.cpu import cpu_info

    torch.set_num_threads(threads)
    flops = 2.0 * rows * hidden * intermediate
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(rows, hidden, generator=gen)
    b = torch.randn(hidden, intermediate, generator=gen)
    out: dict[str, float] = {}
    skipped: dict[str, str] = {}
    with torch.inference_mode():
        out["fp32"] = _rate(lambda: a @ b, flops)
        qa, qb = (a * 20).clamp(-127, 127).to(torch.int8), (b * 20).clamp(-127, 127).to(torch.int8)
        try:
            out["int8"] = _rate(lambda: torch._int_mm(qa, qb), flops)
        except RuntimeError as exc:  # a torch build without CPU int8 matmul
            skipped["int8"] = f"torch._int_mm unavailable: {exc}"
        info = cpu_info()
        if info.bf16:
            ha, hb = a.to(torch.bfloat16), b.to(torch.bfloat16)
            out["bf16"] = _rate(lambda: ha @ hb, flops)
        else:
            skipped["bf16"] = f"no native bf16 on this CPU ({info.capability})"
    return {"gflops": out, "skipped": skipped, "cpu": info.to_dict(), "shape": [rows, hidden, intermediate]}
