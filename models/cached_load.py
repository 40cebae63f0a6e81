"""Loading a version for scoring straight from its cached ONNX export, without its torch encoder.

Once a version has been exported on this machine (and, for ``auto``, once ``auto`` chose
onnx-int8 here for this CPU and thread count), the torch encoder is not needed to score: the
export, the tokenizer and the small entity head are all a ``Classifier`` uses, so neither the
encoder nor transformers' model classes are built or imported (a worker starts in about half the
time). The numbers are those of :func:`finsent.models.backends.make_backend` on the whole
version: the same export is run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finsent.models.backends import Backend, OnnxBackend, auto_cache_dir, onnx_cache_path

__all__ = ["CachedOnnx", "load_cached_onnx"]


@dataclass(frozen=True)
class CachedOnnx:
    """What :func:`load_cached_onnx` loads: all a ``Classifier`` needs of a version."""

    backend: Backend
    tokenizer: Any
    entity_head: Any
    version: str


def load_cached_onnx(
    path: str | Path, *, device: str = "auto", cpu_backend: str = "auto", cache_dir: str | Path | None = None
) -> CachedOnnx | None:
    """The ONNX Runtime path of a version straight from its cached export, or None.

    None (load the whole version instead) on CUDA, for any other choice, or when anything it
    needs is not cached or readable: the export, the decision, a local tokenizer, the encoder's
    width; and for the ``marker+layer`` entity head, which needs the encoder's top layer.
    """
    import torch

    from finsent.models.autoselect import announce_cached, cached_choice, eligibility
    from finsent.models.network import VersionFiles, load_tokenizer_only, read_entity_head, read_manifest

    if cpu_backend not in ("auto", "onnx-int8") or device == "cuda":
        return None
    if device == "auto" and torch.cuda.is_available():
        return None
    root = Path(path)
    manifest = read_manifest(root)
    files = VersionFiles(manifest, root)
    export = onnx_cache_path(files, cache_dir)
    if not export.is_file():
        return None
    threads = torch.get_num_threads()
    choice = None
    if cpu_backend == "auto":
        choice = cached_choice(files, auto_cache_dir(cache_dir), threads)
        if (
            choice is None
            or choice.backend != "onnx-int8"
            or eligibility(manifest, ["onnx-int8"])["onnx-int8"]
        ):
            return None
    spec = manifest.get("entity_head") or {}
    hidden = _encoder_width(root, manifest)
    if spec.get("design") == "marker+layer" or hidden is None:
        return None
    tokenizer = load_tokenizer_only(root, manifest)
    if tokenizer is None:
        return None
    backend = OnnxBackend(export, threads=threads)
    if choice is not None:
        announce_cached(choice)
        backend.auto_choice = choice  # type: ignore[attr-defined]  # as backends._measured_auto sets it
    return CachedOnnx(backend, tokenizer, read_entity_head(root, manifest, hidden), files.version)


def _encoder_width(root: Path, manifest: dict[str, Any]) -> int | None:
    """``hidden_size`` from the version's (or its base encoder's) ``config.json``; None if unknown."""
    from finsent.models.network import resolve_base_model

    encoder = root / "encoder"
    src = encoder if encoder.is_dir() else Path(resolve_base_model(manifest.get("base_model")))
    try:
        width = json.loads((src / "config.json").read_text(encoding="utf-8")).get("hidden_size")
    except (OSError, ValueError, AttributeError):
        return None
    return width if isinstance(width, int) else None
