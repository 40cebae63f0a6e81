"""A distilled fast variant of a model version: its first few encoder layers, adapted with a
low-rank (LoRA) delta and trained to reproduce the full model's outputs (knowledge distillation).

On CPUs where int8 kernels are no faster than fp32 (AVX2 without VNNI, e.g. AMD Zen 1), dropping
layers is the only way to cut compute. The variant lives next to the version it was distilled
from, in ``distilled.safetensors`` (low-rank deltas, norms, biases and heads in fp16: a few hundred
kB, because the layers themselves are the parent's), and the manifest's ``distilled`` entry says
which layers it keeps, how it was trained and whether it passed the quality gate: macro-F1 within
``max_drop`` of the fp32 full model on labeled held-out data. ``cpu_backend="auto"`` uses it only
when it passed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.batching import TokenBatches
from finsent.models.exceptions import ModelLoadError
from finsent.models.trainer import Trainer, TrainerArgs, seed_all

if TYPE_CHECKING:
    from finsent.models.data import Example, LoadResult
    from finsent.models.network import DualHeadModel, LoadedModel

__all__ = [
    "DISTILLED_FILE",
    "DistillConfig",
    "DistillResult",
    "DistillationTrainer",
    "distill",
    "gate_distilled",
    "gate_passed",
    "has_distilled",
    "load_distilled",
]

DISTILLED_FILE = "distilled.safetensors"
_PEFT_PREFIX = "base_model.model."


@dataclass
class DistillConfig:
    """Hyper-parameters of one distillation run (recorded in the manifest)."""

    layers: tuple[int, ...] = (0, 1, 2)
    rank: int = 8
    epochs: int = 6
    batch_size: int = 32
    lr: float = 1e-3
    temperature: float = 2.0
    alpha: float = 0.7  # weight of the distillation loss; 1 - alpha on the gold labels
    hint_weight: float = 2.0  # MSE between the student's and the full model's pooled vectors
    class_weight_power: float = 0.5  # gold-label CE weights ~ count^-power (macro-F1)
    max_length: int = 64
    dev_fraction: float = 0.1
    seed: int = 13
    max_steps: int | None = None


@dataclass
class DistillResult:
    """What a run produced."""

    path: Path
    dev_metrics: dict[str, float]
    losses: list[float] = field(default_factory=list)


def _plain(name: str) -> str:
    return name.removeprefix(_PEFT_PREFIX).replace(".base_layer", "")


def _truncate(encoder: Any, layers: Sequence[int]) -> Any:
    import torch

    n = len(encoder.encoder.layer)
    if not layers or any(not 0 <= i < n for i in layers):
        raise ValueError(f"layers {list(layers)} must be indices of the {n} encoder layers")
    enc = copy.deepcopy(encoder)
    enc.encoder.layer = torch.nn.ModuleList([enc.encoder.layer[i] for i in layers])
    enc.config.num_hidden_layers = len(layers)
    return enc


def _student(teacher: DualHeadModel, config: DistillConfig) -> DualHeadModel:
    from peft import LoraConfig, get_peft_model

    from finsent.models.network import DualHeadModel

    enc = get_peft_model(
        _truncate(teacher.encoder, config.layers),
        LoraConfig(
            r=config.rank,
            lora_alpha=2 * config.rank,
            lora_dropout=0.05,
            target_modules=["query", "key", "value", "dense"],
            bias="none",
        ),
    )
    for name, param in enc.named_parameters():
        plain = _plain(name)
        if not plain.startswith("embeddings") and ("LayerNorm" in plain or plain.endswith(".bias")):
            param.requires_grad = "lora_" not in name
    student = DualHeadModel(enc, pooling=teacher.pooling)
    student.topic_head.load_state_dict(teacher.topic_head.state_dict())
    student.sentiment_head.load_state_dict(teacher.sentiment_head.state_dict())
    return student


def _export(student: DualHeadModel) -> dict[str, Any]:
    """The variant's own tensors: scaled LoRA factors, trained norms/biases, heads (fp16)."""
    from peft.tuners.lora import LoraLayer

    out: dict[str, Any] = {}
    for name, module in student.encoder.named_modules():
        if isinstance(module, LoraLayer) and "default" in module.lora_A:
            key = _plain(name)
            out[f"lora.{key}.A"] = module.lora_A["default"].weight
            out[f"lora.{key}.B"] = module.lora_B["default"].weight * module.scaling["default"]
    for name, param in student.encoder.named_parameters():
        if param.requires_grad and "lora_" not in name:
            out[f"param.{_plain(name)}"] = param
    for k, v in student.head_state().items():
        out[f"head.{k}"] = v
    return {k: v.detach().half().contiguous() for k, v in out.items()}


def load_distilled(loaded: LoadedModel) -> DualHeadModel:
    """The distilled variant of a loaded version, as a plain fp32 model (deltas merged)."""
    import torch
    from safetensors.torch import load_file

    from finsent.models.network import DualHeadModel

    path = loaded.path / DISTILLED_FILE
    if not has_distilled(loaded.path, loaded.manifest):
        raise ModelLoadError(f"version {loaded.version} has no distilled variant ({path})")
    spec = loaded.manifest["distilled"]
    tensors = load_file(str(path))
    enc = _truncate(loaded.model.encoder, spec["layers"])
    model = DualHeadModel(enc, pooling=loaded.model.pooling)
    heads: dict[str, dict[str, Any]] = {"topic_head": {}, "sentiment_head": {}}
    with torch.no_grad():
        for key, value in tensors.items():
            kind, rest = key.split(".", 1)
            if kind == "lora" and rest.endswith(".A"):
                target = enc.get_submodule(rest[:-2])
                target.weight += tensors[f"lora.{rest[:-2]}.B"].float() @ value.float()
            elif kind == "param":
                enc.get_parameter(rest).copy_(value.float())
            elif kind == "head":
                head, param = rest.split(".", 1)
                heads[head][param] = value.float()
            elif not (kind == "lora" and rest.endswith(".B")):
                raise ModelLoadError(f"{path}: unknown tensor {key}")
    model.topic_head.load_state_dict(heads["topic_head"])
    model.sentiment_head.load_state_dict(heads["sentiment_head"])
    model.float().eval()
    return model


def has_distilled(root: str | Path, manifest: dict[str, Any]) -> bool:
    """Whether the version at ``root`` (with this manifest) carries a distilled variant."""
    return bool(manifest.get("distilled")) and (Path(root) / DISTILLED_FILE).is_file()


def gate_passed(manifest: dict[str, Any]) -> bool:
    """Whether the version's distilled variant passed its quality gate."""
    spec = manifest.get("distilled") or {}
    return bool((spec.get("gate") or {}).get("passed"))


def _teacher_outputs(teacher: DualHeadModel, data: TokenBatches, progress: bool) -> tuple[Any, Any, Any]:
    """The full model's topic logits, sentiment logits and pooled vectors for every example."""
    import torch
    from tqdm.auto import tqdm

    order = sorted(range(len(data)), key=lambda i: data.lengths[i])
    t_out = torch.zeros(len(data), teacher.topic_head.out_features)
    s_out = torch.zeros(len(data), teacher.sentiment_head.out_features)
    p_out = torch.zeros(len(data), teacher.topic_head.in_features)
    teacher.eval()
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), 128), disable=not progress, desc="teacher", mininterval=5):
            idx = order[start : start + 128]
            b = data.batch(idx)
            t_out[idx], s_out[idx], p_out[idx] = teacher.forward_pooled(b["input_ids"], b["attention_mask"])
    return t_out, s_out, p_out


def _loss(logits: Any, teacher: Any, gold: Any, weight: Any, config: DistillConfig) -> Any:
    import torch.nn.functional as F

    temp = config.temperature
    kd = F.kl_div(F.log_softmax(logits / temp, -1), F.softmax(teacher / temp, -1), reduction="batchmean") * (
        temp * temp
    )
    loss = config.alpha * kd
    if bool((gold >= 0).any()):
        loss = loss + (1 - config.alpha) * F.cross_entropy(logits, gold, weight=weight, ignore_index=-100)
    return loss


class DistillationTrainer(Trainer):
    """:class:`Trainer` for a student that learns to reproduce its teacher (the full model).

    Overrides two hooks: the batch loss (soft teacher targets at ``config.temperature``, gold
    labels where an example has one, and a hint pulling the student's pooled vector towards the
    teacher's) and the optimiser (one AdamW group, one-cycle schedule); and ``evaluate``'s
    fallback only: without a dev split an epoch is scored by its last batch's loss. Every epoch
    runs (no early stopping, no clipping).

    Args:
        student: The truncated, LoRA-adapted copy of the teacher (see :func:`distill`).
        data: Training batches.
        dev: Dev batches, or None.
        config: The distillation run.
        targets: The teacher's topic logits, sentiment logits and pooled vectors, one row per
            example of ``data``.
        progress: Show a tqdm progress bar.
        on_log: Receives one line per epoch.
    """

    desc = "distill"
    epoch_label = "distill epoch"

    def __init__(
        self,
        student: DualHeadModel,
        data: TokenBatches,
        dev: TokenBatches | None,
        config: DistillConfig,
        targets: tuple[Any, Any, Any],
        *,
        progress: bool = True,
        on_log: Callable[[str], None] | None = None,
    ) -> None:
        # no patience: every epoch runs; the one-cycle schedule warms up over the first 6%
        args = TrainerArgs.from_config(config, weight_decay=0.01, warmup_ratio=0.06, max_grad_norm=None)
        super().__init__(student, data, dev, args, progress=progress, on_log=on_log)
        self.config = config
        self.topic_target, self.sentiment_target, self.pooled_target = targets

    def compute_loss(self, batch: dict[str, Any], idx: list[int]) -> Any:
        """Distillation loss of both heads, plus the pooled-vector hint."""
        import torch

        t, s, pooled = self.model.forward_pooled(batch["input_ids"], batch["attention_mask"])
        loss = _loss(t, self.topic_target[idx], batch["topic"], self.topic_weight, self.config)
        loss = loss + _loss(
            s, self.sentiment_target[idx], batch["sentiment"], self.sentiment_weight, self.config
        )
        if self.config.hint_weight:
            hint = torch.nn.functional.mse_loss(pooled, self.pooled_target[idx])
            loss = loss + self.config.hint_weight * hint
        return loss

    def create_optimizer(self, total_steps: int) -> tuple[Any, Any]:
        """AdamW over the student's trainable tensors, one-cycle (linear) LR schedule."""
        import torch

        params = [p for p in self.model.parameters() if p.requires_grad]
        optim = torch.optim.AdamW(params, lr=self.args.lr, weight_decay=self.args.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            optim,
            max_lr=self.args.lr,
            total_steps=max(total_steps, 2),
            pct_start=self.args.warmup_ratio,
            anneal_strategy="linear",
        )
        return optim, sched

    def evaluate(self, epoch_loss: float) -> dict[str, float]:
        """Dev metrics, or minus the last batch's loss without a dev split."""
        if self.dev is None:
            return {"mean_macro_f1": -self.losses[-1]}
        return super().evaluate(epoch_loss)


def distill(
    version_path: str | Path,
    examples: Sequence[Example],
    config: DistillConfig,
    *,
    progress: bool = True,
    on_log: Callable[[str], None] | None = None,
) -> DistillResult:
    """Train the distilled variant of a version on ``examples`` and store it in the version.

    Every example is used for both heads: the full model's outputs are the targets (soft
    labels, temperature ``config.temperature``); an example's gold label, where it has one, adds
    a class-weighted cross-entropy term; and the student's pooled vector is pulled towards the full
    model's (MSE, ``config.hint_weight``) so the inherited heads keep fitting. The epoch with the
    best mean dev macro-F1 (dev split carved from ``examples``) is kept.
    """
    from safetensors.torch import save_file

    from finsent.models.network import load_version, update_manifest
    from finsent.models.training import split_dev

    seed_all(config.seed)
    loaded = load_version(version_path)
    train_ex, dev_ex = split_dev(examples, config.dev_fraction, config.seed)
    data = TokenBatches(loaded.tokenizer, train_ex, config.max_length)
    dev = TokenBatches(loaded.tokenizer, dev_ex, config.max_length) if dev_ex else None
    targets = _teacher_outputs(loaded.model, data, progress)
    student = _student(loaded.model, config)
    trainer = DistillationTrainer(student, data, dev, config, targets, progress=progress, on_log=on_log)
    fit = trainer.fit()
    root = Path(version_path)
    save_file(_export(student), str(root / DISTILLED_FILE))
    spec = {
        "layers": list(config.layers),
        "config": asdict(config),
        "dev_metrics": fit.best_metrics,
        "gate": None,
    }
    update_manifest(root, distilled=spec)
    return DistillResult(path=root / DISTILLED_FILE, dev_metrics=fit.best_metrics, losses=fit.losses)


def gate_distilled(
    version_path: str | Path, datasets: Sequence[LoadResult], *, max_drop: float = 0.005
) -> dict[str, Any]:
    """Evaluate fp32 and the distilled variant on labeled data; record whether every dataset's
    macro-F1 stayed within ``max_drop`` of fp32 (the gate ``cpu_backend="auto"`` reads)."""
    from finsent.models.evaluation import metrics_from_probs
    from finsent.models.inference import Classifier
    from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
    from finsent.models.network import read_manifest, update_manifest

    root = Path(version_path)
    spec = read_manifest(root).get("distilled")
    if not spec:
        raise ModelLoadError(f"{root} has no distilled variant to gate")
    classifiers = {
        b: Classifier.load(root, device="cpu", cpu_backend=b, max_length=128) for b in ("fp32", "distilled")
    }
    results: dict[str, Any] = {}
    for ds in datasets:
        texts = [e.text for e in ds.examples]
        gold = [int(e.label(ds.task)) for e in ds.examples]  # type: ignore[arg-type]  # labeled rows only
        labels = TOPIC_LABELS if ds.task == "topic" else SENTIMENT_LABELS
        row: dict[str, Any] = {}
        for name, clf in classifiers.items():
            scores = clf.predict(texts)
            probs = [s.topic_probs if ds.task == "topic" else s.sentiment_probs for s in scores]
            m = metrics_from_probs(gold, probs, labels)
            row[name] = {k: m[k] for k in ("accuracy", "macro_f1", "ece")} | {"n": len(gold)}
        row["macro_f1_drop"] = row["fp32"]["macro_f1"] - row["distilled"]["macro_f1"]
        results[f"{ds.task}:{Path(ds.source).name}"] = row
    gate = {
        "max_drop": max_drop,
        "results": results,
        "passed": bool(results) and all(r["macro_f1_drop"] <= max_drop for r in results.values()),
    }
    update_manifest(root, distilled={**spec, "gate": gate})
    return gate
