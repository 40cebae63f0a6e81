"""Entity-targeted sentiment: what callers pass and get back, and the head that scores entities.

One encoder pass per text serves the document heads and every entity of the text: the entity
head reads the encoder's final-layer token states, pools the tokens of the entity's mentions
(``EntityTarget.spans``, raw character offsets) and combines them with the text's pooled vector
(the design is a manifest entry, ``entity_head.design``; see :class:`EntityHead`). A target
whose mentions were all truncated away (or fell inside a removed link) is scored from the text's
pooled vector alone, and its :class:`EntityScore` says so (``from_mentions=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from finsent.models.labels import SENTIMENT_LABELS

if TYPE_CHECKING:
    import torch

__all__ = ["DESIGNS", "ENTITY_HEAD_FILE", "EntityHead", "EntityScore", "EntityTarget", "entity_score"]

#: Where a version keeps its entity head (absent: the version has none).
ENTITY_HEAD_FILE = "entity_head.safetensors"
#: Entity head designs: the mention's pooled tokens alone; with the text's pooled vector; with a
#: context vector the mention attends to over the text's tokens; and entity markers: a learned
#: marker vector added to the mention's final-layer states, then one more transformer layer (a
#: copy of the encoder's top layer with LoRA deltas) over the text, per entity, then pooling.
DESIGNS = ("mention", "mention+text", "mention+attn", "marker+layer")
#: LoRA rank and scale of the marker+layer design's extra layer.
LORA_RANK = 16
LORA_ALPHA = 32


@dataclass(frozen=True)
class EntityTarget:
    """An entity to score in one text.

    ``spans`` are ``(start, end)`` character offsets into the raw text given to ``predict``
    (before normalisation); ``key`` is the caller's id (e.g. a ticker), returned as is. No spans:
    the entity is scored from the whole text.
    """

    key: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class EntityScore:
    """Sentiment of one entity in one text (``score`` = P(pos) - P(neg); ``confidence`` = the
    probability of ``sentiment``). ``from_mentions`` is False when no mention token survived
    truncation and the text's pooled vector stood in for the mention."""

    key: str
    sentiment: str
    sentiment_probs: list[float]
    score: float
    confidence: float
    from_mentions: bool = True


def entity_score(key: str, probs: Any, from_mentions: bool) -> EntityScore:
    """An :class:`EntityScore` from one row of class probabilities."""
    p = [float(x) for x in probs]
    idx = max(range(len(p)), key=p.__getitem__)
    return EntityScore(
        key=key,
        sentiment=SENTIMENT_LABELS[idx],
        sentiment_probs=p,
        score=p[2] - p[0],
        confidence=p[idx],
        from_mentions=from_mentions,
    )


def _torch_module() -> Any:
    import torch

    return torch.nn.Module


class EntityHead(_torch_module()):  # type: ignore[misc]  # torch imported lazily on purpose
    """Sentiment of entities from final-layer token states.

    Args:
        hidden: Encoder width.
        design: One of :data:`DESIGNS`.
        width: Width of the MLP's hidden layer (and of the attention projections).
        dropout: Dropout on the features while training.
        top_layer: The encoder's top transformer layer (``marker+layer`` only): copied, frozen,
            and given trainable LoRA deltas; only the deltas, its LayerNorms and the rest of the
            head are stored (:meth:`export_state`).
    """

    def __init__(
        self,
        hidden: int,
        design: str = "mention+text",
        width: int = 128,
        dropout: float = 0.1,
        top_layer: Any = None,
    ) -> None:
        import torch

        if design not in DESIGNS:
            raise ValueError(f"entity head design must be one of {DESIGNS}, not {design!r}")
        super().__init__()
        self.design, self.width = design, width
        n_in = {
            "mention": hidden,
            "mention+text": 3 * hidden,
            "mention+attn": 2 * hidden + width,
            "marker+layer": 2 * hidden,
        }[design]
        if design == "mention+attn":
            self.query = torch.nn.Linear(hidden, width)
            self.key = torch.nn.Linear(hidden, width)
            self.value = torch.nn.Linear(hidden, width)
        if design == "marker+layer":
            if top_layer is None:
                raise ValueError("the marker+layer entity head needs the encoder's top layer")
            self.marker = torch.nn.Parameter(torch.randn(hidden) * 0.1)
            self.layer = _lora_copy(top_layer, LORA_RANK, LORA_ALPHA)
        self.dropout = torch.nn.Dropout(dropout)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(n_in, width), torch.nn.GELU(), torch.nn.Linear(width, len(SENTIMENT_LABELS))
        )

    def forward(
        self, states: torch.Tensor, attention_mask: torch.Tensor, rows: torch.Tensor, mention: torch.Tensor
    ) -> torch.Tensor:
        """Logits (E, 3) of E entities.

        Args:
            states: Final-layer token states (B, T, H).
            attention_mask: (B, T), 1 on real tokens.
            rows: (E,) which text each entity is in.
            mention: (E, T) 1 on the entity's mention tokens; an all-zero row -> the text's
                pooled vector stands in for the mention.
        """
        import torch

        h = states[rows].float()
        mask = attention_mask[rows].to(h.dtype)
        m = mention.to(h.dtype)
        if self.design == "marker+layer":
            from finsent.models.network import _additive_mask, _layer_out

            h = _layer_out(self.layer(h + m.unsqueeze(-1) * self.marker, _additive_mask(mask, h.dtype)))
        text = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        count = m.sum(1, keepdim=True)
        pooled = (h * m.unsqueeze(-1)).sum(1) / count.clamp(min=1.0)
        pooled = torch.where(count > 0, pooled, text)
        if self.design == "mention":
            feats = pooled
        elif self.design == "marker+layer":
            feats = torch.cat([pooled, text], dim=-1)
        elif self.design == "mention+text":
            feats = torch.cat([pooled, text, pooled * text], dim=-1)
        else:
            scores = (self.key(h) @ self.query(pooled).unsqueeze(-1)).squeeze(-1) / self.width**0.5
            scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
            ctx = (torch.softmax(scores, dim=-1).unsqueeze(-1) * self.value(h)).sum(1)
            feats = torch.cat([pooled, text, ctx], dim=-1)
        out: torch.Tensor = self.mlp(self.dropout(feats))
        return out

    def spec(self) -> dict[str, Any]:
        """What the manifest records to rebuild this head (``entity_head`` entry)."""
        return {"design": self.design, "width": self.width}

    def export_state(self, *, with_base: bool = False) -> dict[str, torch.Tensor]:
        """The tensors a version stores: the trained ones; the frozen copy of the top layer only
        ``with_base`` (when the encoder's own top layer no longer equals it)."""
        return {
            n: p.detach().cpu().contiguous()
            for n, p in self.named_parameters()
            if p.requires_grad or (with_base and n.startswith("layer."))
        }

    def base_matches(self, top_layer: Any) -> bool:
        """Whether the frozen copy still equals ``top_layer`` (marker+layer; True otherwise)."""
        import torch

        if self.design != "marker+layer":
            return True
        # Only the frozen weights wrapped by LoRA (the copy's LayerNorms are trained on purpose).
        ours = {k.replace(".base.", "."): v for k, v in self.layer.state_dict().items() if ".base." in k}
        return all(torch.equal(v, ours[k]) for k, v in top_layer.state_dict().items() if k in ours)


def _lora_linear_class() -> Any:
    import torch

    class LoRALinear(torch.nn.Module):
        """A frozen Linear plus a trainable low-rank delta ``B @ A * alpha / rank``."""

        def __init__(self, base: torch.nn.Linear, rank: int, alpha: int) -> None:
            super().__init__()
            self.base = base
            for p in base.parameters():
                p.requires_grad = False
            self.lora_a = torch.nn.Parameter(torch.randn(rank, base.in_features) / base.in_features**0.5)
            self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.scale = alpha / rank

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale
            return out

    return LoRALinear


def _lora_copy(layer: Any, rank: int, alpha: int) -> Any:
    """A copy of a BERT layer: weights frozen, LoRA on its six Linear maps, LayerNorms trainable."""
    import copy

    import torch

    new = copy.deepcopy(layer)
    for p in new.parameters():
        p.requires_grad = False
    lora = _lora_linear_class()
    for parent, attr in (
        (new.attention.self, "query"),
        (new.attention.self, "key"),
        (new.attention.self, "value"),
        (new.attention.output, "dense"),
        (new.intermediate, "dense"),
        (new.output, "dense"),
    ):
        setattr(parent, attr, lora(getattr(parent, attr), rank, alpha))
    for module in new.modules():
        if isinstance(module, torch.nn.LayerNorm):
            for p in module.parameters():
                p.requires_grad = True
    return new
