"""Fine-tuning of the two-head classifier (top layers, LoRA or full) with :class:`Trainer`: a run's
config, its data and model set-up, and the version it saves."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from finsent.models.batching import CachedBatches, TokenBatches
from finsent.models.data import Example, data_fingerprint
from finsent.models.trainer import Batches, Trainer, TrainerArgs, seed_all

__all__ = [
    "TrainConfig",
    "TrainResult",
    "carve_dev",
    "oversample_entities",
    "split_dev",
    "train",
    "trainer_args",
]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (recorded in the version's manifest)."""

    base_model: str | None = None
    init_from: str | None = None
    mode: str = "top"
    pooling: str = "mean"
    lora_rank: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    train_norms: bool = True
    train_layers: int = 4
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_length: int = 64
    class_weight_power: float = 0.5
    dev_fraction: float = 0.1
    patience: int = 2
    seed: int = 13
    #: Seed of the dev split (None: ``seed``); runs that differ only in ``seed`` then share one dev
    #: split, so they can be compared (or averaged) on it.
    dev_seed: int | None = None
    max_steps: int | None = None
    threads: int | None = None
    adapter_dtype: str = "float16"
    checkpoint_each_epoch: bool = False
    topic_train_fraction: float = 1.0
    #: Entity-labeled training texts are repeated this many times per epoch (FinEntity has
    #: ~750 texts against ~24,000 headlines: without it the entity loss gets ~3% of the steps).
    entity_oversample: int = 1
    #: Synthetic texts whose entities disagree, each two training texts of opposite entity
    #: sentiment joined (``entity_data.opposite_pairs``, from the train part only).
    entity_pairs: int = 0
    #: Entity head (trained when examples carry entity labels): design and MLP width.
    entity_design: str = "mention+text"
    entity_width: int = 128
    #: Token limit of entity-labeled texts (news paragraphs, longer than headlines).
    entity_max_length: int = 128
    #: Train nothing of the encoder (and no head without labels): e.g. add an entity head to a
    #: version while keeping its document scores exactly as they were.
    freeze_encoder: bool = False
    #: Self-training (``pseudo_labels``): a teacher version (directory) fills the topic or
    #: sentiment label a train text lacks where its top probability reaches the threshold.
    pseudo_labels_from: str | None = None
    pseudo_label_threshold: float = 0.9


@dataclass
class TrainResult:
    """What a run produced."""

    path: Path
    version: str
    dev_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def split_dev(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Carve a dev split (per task, fixed seed) out of the training examples.

    Entity-labeled texts form their own group (split by text), even where a single-entity text
    also carries a document label, so every text lands in exactly one of train and dev.
    """
    if fraction <= 0:
        return list(examples), []
    rng = random.Random(seed)
    train: list[Example] = []
    dev: list[Example] = []
    groups = (
        [e for e in examples if e.topic is not None],
        [e for e in examples if e.sentiment is not None and not e.entities],
        [e for e in examples if e.entities and e.topic is None],
    )
    for subset in groups:
        rng.shuffle(subset)
        n_dev = round(len(subset) * fraction)
        dev.extend(subset[:n_dev])
        train.extend(subset[n_dev:])
    return train, dev


def carve_dev(examples: Sequence[Example], config: TrainConfig) -> tuple[list[Example], list[Example]]:
    """:func:`split_dev` with the run's dev fraction and dev seed (``seed`` unless ``dev_seed``)."""
    seed = config.seed if config.dev_seed is None else config.dev_seed
    return split_dev(examples, config.dev_fraction, seed)


def oversample_entities(train_ex: Sequence[Example], times: int) -> list[Example]:
    """``train_ex`` with each entity-labeled example repeated ``times`` times in all (after the
    dev split, so no dev text is trained on)."""
    return [*train_ex, *[e for e in train_ex if e.entities] * max(0, times - 1)]


def train(
    examples: Sequence[Example],
    out_dir: str | Path,
    config: TrainConfig,
    *,
    version: str | None = None,
    progress: bool = True,
    on_log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Fine-tune on ``examples`` (each carrying a topic or a sentiment label) and save a version.

    Model selection uses a dev split carved from ``examples`` with ``config.dev_seed`` (default
    ``config.seed``); the best epoch by mean dev macro-F1 (topic, sentiment) is saved; training
    stops after ``config.patience`` epochs without improvement.

    Args:
        examples: Training examples.
        out_dir: Directory of the new version (created).
        config: Hyper-parameters.
        version: Version id (default: a timestamp).
        progress: Show a tqdm progress bar.
        on_log: Receives one line per epoch (default: the module logger).

    Returns:
        Where the version was written, its dev metrics and the loss history.
    """
    import torch

    from finsent.models.versions import new_version_id

    say = on_log or log.info
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_all(config.seed)
    train_ex, dev_ex = carve_dev(examples, config)
    if config.topic_train_fraction < 1.0:
        # e.g. a sentiment-focused warm start that still rehearses some topic examples
        rng = random.Random(config.seed + 1)
        train_ex = [e for e in train_ex if e.topic is None or rng.random() < config.topic_train_fraction]
    if config.pseudo_labels_from:
        train_ex = _with_pseudo_labels(train_ex, config.pseudo_labels_from, config, say)
    train_ex = oversample_entities(train_ex, config.entity_oversample)
    if config.entity_pairs:
        from finsent.models.entity_data import opposite_pairs

        entity_texts = list(dict.fromkeys(e for e in train_ex if e.entities))
        train_ex += opposite_pairs(entity_texts, config.entity_pairs, config.seed)
    model, tokenizer = _init_model(config)
    _prepare_heads(model, config, train_ex)
    data, dev = _batches(model, tokenizer, train_ex, dev_ex, config, say)

    run = _Run(model, tokenizer, Path(out_dir), config, examples, train_ex, dev_ex)

    def checkpoint(trainer: Trainer) -> None:
        run.save(version, trainer.best_metrics, trainer.history)

    trainer = Trainer(
        model,
        data,
        dev,
        trainer_args(config),
        progress=progress,
        on_log=say,
        on_improved=checkpoint if config.checkpoint_each_epoch else None,
    )
    fit = trainer.fit()
    vid = version or new_version_id()
    path = run.save(vid, fit.best_metrics, fit.history)
    return TrainResult(
        path=path, version=vid, dev_metrics=fit.best_metrics, history=fit.history, losses=fit.losses
    )


def _with_pseudo_labels(
    train_ex: list[Example], teacher_dir: str, config: TrainConfig, say: Callable[[str], None]
) -> list[Example]:
    from finsent.models.inference import Classifier
    from finsent.models.pseudo_labels import add_pseudo_labels

    teacher = Classifier.load(teacher_dir, cpu_backend="fp32", max_length=config.max_length)
    out, added = add_pseudo_labels(train_ex, teacher.predict, config.pseudo_label_threshold)
    say(
        f"pseudo-labels from {teacher.version} (top probability >= {config.pseudo_label_threshold}): "
        f"{added['sentiment']} sentiment, {added['topic']} topic"
    )
    return out


def trainer_args(config: TrainConfig) -> TrainerArgs:
    """How :class:`Trainer` runs a fine-tuning configuration."""
    return TrainerArgs.from_config(config, max_grad_norm=1.0)


def _batches(
    model: Any,
    tokenizer: Any,
    train_ex: Sequence[Example],
    dev_ex: Sequence[Example],
    config: TrainConfig,
    say: Callable[[str], None],
) -> tuple[Batches, Batches | None]:
    """Training and dev batches; in ``top`` mode, the states after the frozen layers, cached."""
    data = TokenBatches(tokenizer, train_ex, config.max_length, config.entity_max_length)
    dev = TokenBatches(tokenizer, dev_ex, config.max_length, config.entity_max_length) if dev_ex else None
    n_layers = len(model.encoder.encoder.layer)
    if config.freeze_encoder:
        k = n_layers
    elif config.mode != "top":
        return data, dev
    else:
        k = max(0, n_layers - config.train_layers)
    say(f"caching states after the {k} frozen layers")
    return CachedBatches(model, data, k), CachedBatches(model, dev, k) if dev is not None else None


@dataclass(frozen=True)
class _Run:
    """What a fine-tuning run writes a version from (its checkpoints and its result)."""

    model: Any
    tokenizer: Any
    out_dir: Path
    config: TrainConfig
    examples: Sequence[Example]
    train_ex: Sequence[Example]
    dev_ex: Sequence[Example]

    def save(
        self, version: str | None, dev_metrics: dict[str, float], history: list[dict[str, float]]
    ) -> Path:
        """Write the model as it is now to ``out_dir`` (version id: a timestamp when None)."""
        from finsent.models.versions import new_version_id, save_version

        root = save_version(
            self.model,
            self.tokenizer,
            self.out_dir,
            version=version or new_version_id(),
            config=asdict(self.config),
            dev_metrics=dev_metrics,
            history=history,
            fingerprint=data_fingerprint(self.examples),
            n_train=len(self.train_ex),
            n_dev=len(self.dev_ex),
        )
        if self.config.freeze_encoder and self.config.init_from:
            _carry_parent(root, Path(self.config.init_from), self.train_ex)
        return root


#: Manifest entries about the document heads: still true of a frozen-encoder child whose
#: document heads had no training labels (its document outputs are the parent's).
_DOCUMENT_ENTRIES = ("train_config", "data_fingerprint", "n_train", "n_dev", "dev_metrics", "history")


def _carry_parent(root: Path, parent: Path, train_ex: Sequence[Example]) -> None:
    """After a frozen-encoder run: the run's own record moves under ``entity_head.training`` and
    the parent's document-level record (and, if no document head was trained, its evaluation
    figures) is kept, so the card describes both honestly."""
    from finsent.models.network import read_manifest, update_manifest
    from finsent.models.versions import write_model_card

    child, base = read_manifest(root), read_manifest(parent)
    if any(e.topic is not None or e.sentiment is not None for e in train_ex):
        return  # a document head was trained too: the run's record is the document record
    entries: dict[str, Any] = {k: base[k] for k in _DOCUMENT_ENTRIES if k in base}
    entries["metrics"] = {k: v for k, v in base.get("metrics", {}).items() if "/entity " not in k}
    if base.get("evaluation_notes"):
        entries["evaluation_notes"] = base["evaluation_notes"]
    if child.get("entity_head"):
        run = {k: child[k] for k in _DOCUMENT_ENTRIES if k in child}
        entries["entity_head"] = {**child["entity_head"], "training": run}
    update_manifest(root, **entries)
    write_model_card(root)


def _prepare_heads(model: Any, config: TrainConfig, train_ex: Sequence[Example]) -> None:
    """Add an entity head when entity labels are there; freeze what is not trained."""
    from finsent.models.network import new_entity_head

    if any(e.entities for e in train_ex):
        head = model.entity_head
        if head is None or head.spec() != {"design": config.entity_design, "width": config.entity_width}:
            model.entity_head = new_entity_head(model.encoder, config.entity_design, config.entity_width)
    if not config.freeze_encoder:
        return
    for param in model.encoder.parameters():
        param.requires_grad = False
    # A head without training labels would only drift (weight decay): keep it as loaded.
    for name, task in (("topic_head", "topic"), ("sentiment_head", "sentiment")):
        if not any(e.label(task) is not None for e in train_ex):  # type: ignore[arg-type]  # literal
            for param in getattr(model, name).parameters():
                param.requires_grad = False


def _init_model(config: TrainConfig) -> tuple[Any, Any]:
    from finsent.models.network import build_model
    from finsent.models.versions import warm_start

    if config.init_from:
        return warm_start(config.init_from, config)
    return build_model(
        config.base_model,
        mode=config.mode,
        pooling=config.pooling,
        lora_rank=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        train_norms=config.train_norms,
        train_layers=config.train_layers,
    )
