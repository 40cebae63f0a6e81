"""Execution paths of the inference engine: torch fp32 / CUDA half, torch int8, ONNX Runtime int8."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from finsent.models.exceptions import ModelLoadError

if TYPE_CHECKING:
    import numpy as np

    from finsent.models.network import LoadedModel, VersionFiles

__all__ = [
    "AUTO_CPU_BACKEND",
    "CPU_BACKENDS",
    "Backend",
    "auto_cpu_backend",
    "make_backend",
    "onnx_cache_path",
]

log = logging.getLogger(__name__)

CPU_BACKENDS = ("fp32", "bf16", "torch-int8", "onnx-int8", "distilled")
#: What ``cpu_backend="auto"`` runs for a version without a gated distilled variant: of the
#: int8 paths, the faster one within 0.5 macro-F1 points of fp32 (model card, ``finsent bench
#: inference``).
AUTO_CPU_BACKEND = "onnx-int8"

Batch = tuple["np.ndarray", "np.ndarray"]
#: Changes whenever the export/quantization recipe does, so stale cached exports are not reused.
_EXPORT_RECIPE = "opset17-matmul-int8-per-channel-token-states"


class Backend(Protocol):
    """Runs the two-head model on one padded batch and returns softmax probabilities.

    ``forward(batch, states=True)`` also returns the final-layer token states (B, T, H) the
    document heads were pooled from (float32; what the entity head reads), where
    ``token_states`` is True; a backend whose states do not match the version's encoder (the
    distilled variant) has ``token_states = False`` and returns None for them.
    """

    name: str
    token_states: bool

    def probs(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """(topic probs (B, 20), sentiment probs (B, 3)) as float32 arrays."""
        ...

    def forward(self, batch: Batch, *, states: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        """(topic probs, sentiment probs, token states (B, T, H) float32 or None)."""
        ...


class TorchBackend:
    """The PyTorch model on CPU (fp32 or dynamic int8) or CUDA (bf16/fp16)."""

    def __init__(
        self, model: Any, name: str, device: str = "cpu", dtype: Any = None, *, token_states: bool = True
    ) -> None:
        self.model, self.name, self.device = model, name, device
        self.dtype = dtype
        self.token_states = token_states

    def probs(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        t, s, _ = self.forward(batch)
        return t, s

    def forward(self, batch: Batch, *, states: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        import torch

        ids, mask = (_to_device(torch.from_numpy(x), self.device) for x in batch)
        hidden = None
        with torch.inference_mode():
            if states and self.token_states:
                t, s, h = self.model.forward_states(ids, mask)
                hidden = h.float().cpu().numpy()
            else:
                t, s = self.model(ids, mask)
            t = torch.softmax(t.float(), dim=-1).cpu().numpy()
            s = torch.softmax(s.float(), dim=-1).cpu().numpy()
        return t, s, hidden


def _to_device(tensor: Any, device: str) -> Any:
    """``tensor`` on ``device``; to a GPU through pinned (page-locked) memory, copied asynchronously
    so the host can prepare the next batch while the copy runs."""
    if device.startswith("cuda"):
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor


class OnnxBackend:
    """The model exported to ONNX, int8-quantized (dynamic), run by ONNX Runtime."""

    name = "onnx-int8"
    token_states = True

    def __init__(self, model_path: Path, threads: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Busy-waiting threads steal the cores a shared machine's other processes need.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])

    def probs(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        t, s, _ = self.forward(batch)
        return t, s

    def forward(self, batch: Batch, *, states: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        import numpy as np

        names = ["topic_logits", "sentiment_logits", *(["token_states"] if states else [])]
        out = self.session.run(names, {"input_ids": batch[0], "attention_mask": batch[1]})
        hidden = np.asarray(out[2], dtype=np.float32) if states else None
        return _softmax(np.asarray(out[0])), _softmax(np.asarray(out[1])), hidden


def _softmax(x: np.ndarray) -> np.ndarray:
    import numpy as np

    z = np.exp(x - x.max(axis=-1, keepdims=True))
    out: np.ndarray = (z / z.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


def auto_cpu_backend(manifest: dict[str, Any]) -> str:
    """The CPU path ``auto`` picks for a version: its distilled variant where that passed its
    quality gate (macro-F1 within 0.5 points of fp32), else :data:`AUTO_CPU_BACKEND`."""
    from finsent.models.distill import gate_passed

    return "distilled" if gate_passed(manifest) else AUTO_CPU_BACKEND


def make_backend(
    loaded: LoadedModel,
    *,
    device: str = "auto",
    cpu_backend: str = "auto",
    cache_dir: str | Path | None = None,
) -> Backend:
    """Choose and build the execution path for a loaded model.

    ``device="auto"`` takes CUDA when present (bf16 where supported, else fp16); on CPU,
    ``cpu_backend="auto"`` means :func:`auto_cpu_backend`.
    """
    import torch

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("device='cuda' but CUDA is not available")
    if device in ("auto", "cuda") and torch.cuda.is_available():
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        model = loaded.model.to("cuda", dtype=dtype)
        return TorchBackend(model, f"cuda-{'bf16' if dtype == torch.bfloat16 else 'fp16'}", "cuda", dtype)
    if cpu_backend == "auto":
        return _measured_auto(loaded, cache_dir)
    choice = cpu_backend
    if choice == "distilled":
        from finsent.models.distill import load_distilled

        # Its 3-layer states are not the states the version's entity head was trained on.
        return TorchBackend(load_distilled(loaded), "distilled", token_states=False)
    if choice == "fp32":
        return TorchBackend(loaded.model, "fp32")
    if choice == "torch-int8":
        return TorchBackend(_torch_int8(loaded.model), "torch-int8")
    if choice == "onnx-int8":
        path = onnx_cache_path(loaded, cache_dir)
        if not path.is_file():
            export_onnx_int8(loaded, path)
        return OnnxBackend(path, threads=torch.get_num_threads())
    if choice == "bf16":
        return TorchBackend(_bf16(loaded.model), "bf16", dtype=torch.bfloat16)
    raise ValueError(f"cpu_backend must be auto or one of {CPU_BACKENDS}, not {cpu_backend!r}")


def _bf16(model: Any) -> Any:
    """A bf16 copy of the model (weights and activations; oneDNN's AVX-512 BF16 / AMX kernels).

    LayerNorm and softmax still accumulate in fp32 inside torch's bf16 CPU kernels, which is
    what keeps macro-F1 within the gate (model card); the caller's fp32 model stays untouched.
    """
    import copy

    import torch

    return copy.deepcopy(model).to(torch.bfloat16).eval()


def auto_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where ONNX exports and the ``auto`` decisions live (``$FINSENT_ONNX_CACHE`` or
    ``~/.cache/finsent/onnx`` unless given)."""
    if cache_dir is None:
        cache_dir = os.environ.get("FINSENT_ONNX_CACHE") or Path.home() / ".cache" / "finsent" / "onnx"
    return Path(cache_dir)


def _measured_auto(loaded: LoadedModel, cache_dir: str | Path | None) -> Backend:
    """``cpu_backend="auto"``: the fastest gated backend timed on this machine (cached decision)."""
    import torch

    from finsent.models.autoselect import choose_backend

    def build(name: str) -> Backend:
        return make_backend(loaded, device="cpu", cpu_backend=name, cache_dir=cache_dir)

    choice, backend = choose_backend(
        loaded,
        candidates=[b for b in CPU_BACKENDS if b != "distilled" or _has_variant(loaded)],
        build=build,
        cache_dir=auto_cache_dir(cache_dir),
        threads=torch.get_num_threads(),
    )
    backend.auto_choice = choice  # type: ignore[attr-defined]  # read by Classifier.auto_choice
    return backend


def _has_variant(loaded: LoadedModel) -> bool:
    from finsent.models.distill import has_distilled

    return bool(has_distilled(loaded.path, loaded.manifest))


def _torch_int8(model: Any) -> Any:
    """Dynamic int8 for the encoder's Linear layers; the small heads stay fp32 (they cost
    nothing and quantizing them costs accuracy)."""
    import copy

    import torch

    quantized = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantize_dynamic is deprecated in favour of torchao
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig  # per-channel: closer to fp32
        quantized.encoder = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]  # torch.ao is untyped
            quantized.encoder, {torch.nn.Linear: qconfig}, dtype=torch.qint8
        )
    return quantized.eval()


def onnx_cache_path(loaded: LoadedModel | VersionFiles, cache_dir: str | Path | None = None) -> Path:
    """Where the int8 ONNX export of this version lives (one export per version and weights)."""
    import onnxruntime

    weights = sorted(p for p in loaded.path.iterdir() if p.suffix == ".safetensors")
    digest = hashlib.sha256()
    for p in weights:
        st = p.stat()
        digest.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    digest.update(onnxruntime.__version__.encode())
    digest.update(_EXPORT_RECIPE.encode())
    name = f"{loaded.version}-{digest.hexdigest()[:12]}.int8.onnx"
    return auto_cache_dir(cache_dir) / name


def export_onnx_int8(loaded: LoadedModel, target: Path) -> Path:
    """Export the fp32 model to ONNX and quantize its weights to int8 (dynamic quantization)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    # Per-process scratch names: workers loading one version at once each export, one wins the rename.
    fp32 = target.with_name(target.name.replace(".int8.onnx", f".{os.getpid()}.fp32.onnx"))
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    log.info("exporting %s to ONNX (once per version) at %s", loaded.version, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _with_states(loaded.model),
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["topic_logits", "sentiment_logits", "token_states"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "topic_logits": {0: "batch"},
                "sentiment_logits": {0: "batch"},
                "token_states": {0: "batch", 1: "seq"},
            },
            opset_version=17,
            dynamo=False,
        )
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    # Only the encoder's MatMuls: the heads are exported as Gemm and the embeddings as Gather,
    # both left in fp32 (negligible compute, measurable accuracy when quantized).
    quantize_dynamic(
        str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
    )
    os.replace(tmp, target)
    fp32.unlink(missing_ok=True)
    return target


def _with_states(model: Any) -> Any:
    """The model with its final-layer token states as a third output (what is exported).

    The wrapper takes the model's mode: ``torch.onnx.export`` puts the wrapper back in its own
    mode afterwards, recursively, and a new module is in training mode, which left the loaded
    model's entity head scoring with dropout on in the process that exported.
    """
    import torch

    class WithStates(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any) -> Any:
            return self.inner.forward_states(ids, mask)

    return WithStates(model).train(model.training)
