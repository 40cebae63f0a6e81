"""Fine-tuning of the two-head classifier (LoRA or full), with early stopping on a dev split."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from finsent.models.batching import CachedBatches, TokenBatches, batch_order
from finsent.models.data import Example, data_fingerprint
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS

__all__ = ["TrainConfig", "TrainResult", "split_dev", "train"]

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
    max_steps: int | None = None
    threads: int | None = None
    adapter_dtype: str = "float16"
    checkpoint_each_epoch: bool = False
    topic_train_fraction: float = 1.0


@dataclass
class TrainResult:
    """What a run produced."""

    path: Path
    version: str
    dev_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)


def split_dev(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Carve a dev split (per task, fixed seed) out of the training examples."""
    if fraction <= 0:
        return list(examples), []
    rng = random.Random(seed)
    train: list[Example] = []
    dev: list[Example] = []
    for task in ("topic", "sentiment"):
        subset = [e for e in examples if e.label(task) is not None]
        rng.shuffle(subset)
        n_dev = round(len(subset) * fraction)
        dev.extend(subset[:n_dev])
        train.extend(subset[n_dev:])
    return train, dev


def _class_weights(labels: list[int], n: int, power: float) -> Any:
    import torch

    counts = torch.bincount(torch.tensor(labels, dtype=torch.long), minlength=n).float().clamp(min=1)
    w = counts.pow(-power)
    # Scale so the average weight over the training examples is 1 (loss scale stays comparable).
    w = w / (w * counts).sum() * counts.sum()
    return w


def _seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _logits(model: Any, data: Any, b: dict[str, Any]) -> tuple[Any, Any]:
    if isinstance(data, CachedBatches):
        return model.forward_from(b["hidden"], b["attention_mask"], data.k)  # type: ignore[no-any-return]
    return model(b["input_ids"], b["attention_mask"])  # type: ignore[no-any-return]


def _masked_ce(logits: Any, labels: Any, weight: Any) -> Any:
    import torch

    if not bool((labels != -100).any()):
        return logits.sum() * 0.0
    return torch.nn.functional.cross_entropy(logits, labels, weight=weight, ignore_index=-100)


def evaluate_logits(model: Any, data: Any, batch_size: int = 128) -> dict[str, float]:
    """Accuracy and macro-F1 per head on pre-tokenised examples."""
    import torch
    from sklearn.metrics import accuracy_score, f1_score

    model.eval()
    lengths = data.lengths if isinstance(data, CachedBatches) else [len(x) for x in data.ids]
    order = sorted(range(len(data)), key=lambda i: lengths[i])
    preds: dict[str, dict[int, int]] = {"topic": {}, "sentiment": {}}
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            b = data.batch(idx)
            t_logits, s_logits = _logits(model, data, b)
            for j, i in enumerate(idx):
                preds["topic"][i] = int(t_logits[j].argmax())
                preds["sentiment"][i] = int(s_logits[j].argmax())
    model.train()
    out: dict[str, float] = {}
    for task, gold_all in (("topic", data.topic), ("sentiment", data.sent)):
        idx = [i for i, g in enumerate(gold_all) if g != -100]
        if not idx:
            continue
        gold = [gold_all[i] for i in idx]
        pred = [preds[task][i] for i in idx]
        out[f"{task}_accuracy"] = float(accuracy_score(gold, pred))
        out[f"{task}_macro_f1"] = float(f1_score(gold, pred, average="macro"))
    f1s = [v for k, v in out.items() if k.endswith("macro_f1")]
    out["mean_macro_f1"] = sum(f1s) / len(f1s) if f1s else 0.0
    return out


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

    Model selection uses a dev split carved from ``examples`` with ``config.seed``; the best
    epoch by mean dev macro-F1 (topic, sentiment) is saved; training stops after
    ``config.patience`` epochs without improvement.

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
    from tqdm.auto import tqdm

    say = on_log or log.info
    if config.threads:
        torch.set_num_threads(config.threads)
    _seed_all(config.seed)
    train_ex, dev_ex = split_dev(examples, config.dev_fraction, config.seed)
    if config.topic_train_fraction < 1.0:
        # e.g. a sentiment-focused warm start that still rehearses some topic examples
        rng = random.Random(config.seed + 1)
        train_ex = [e for e in train_ex if e.topic is None or rng.random() < config.topic_train_fraction]
    model, tokenizer = _init_model(config)
    data: Any = TokenBatches(tokenizer, train_ex, config.max_length)
    dev: Any = TokenBatches(tokenizer, dev_ex, config.max_length) if dev_ex else None
    if config.mode == "top":
        k = max(0, len(model.encoder.encoder.layer) - config.train_layers)
        say(f"caching states after the {k} frozen layers")
        data = CachedBatches(model, data, k)
        dev = CachedBatches(model, dev, k) if dev is not None else None
    w_topic = _class_weights([t for t in data.topic if t >= 0], len(TOPIC_LABELS), config.class_weight_power)
    w_sent = _class_weights(
        [s for s in data.sent if s >= 0], len(SENTIMENT_LABELS), config.class_weight_power
    )
    all_lengths = data.lengths if isinstance(data, CachedBatches) else [len(x) for x in data.ids]
    steps_per_epoch = len(batch_order(all_lengths, config.batch_size, torch.Generator()))
    total = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    optim, sched = _optimizer(model, config, total)
    gen = torch.Generator().manual_seed(config.seed)
    best: tuple[float, dict[str, Any] | None, dict[str, float]] = (-1.0, None, {})
    history: list[dict[str, float]] = []
    losses: list[float] = []
    bad_epochs, step = 0, 0
    bar = tqdm(total=total, disable=not progress, mininterval=5.0, desc="train")
    model.train()
    t0 = time.monotonic()
    for epoch in range(config.epochs):
        lengths = data.lengths if isinstance(data, CachedBatches) else [len(x) for x in data.ids]
        epoch_loss = 0.0
        for idx in batch_order(lengths, config.batch_size, gen):
            if step >= total:
                break
            b = data.batch(idx)
            t_logits, s_logits = _logits(model, data, b)
            loss = _masked_ce(t_logits, b["topic"], w_topic) + _masked_ce(s_logits, b["sentiment"], w_sent)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optim.step()
            sched.step()
            step += 1
            losses.append(float(loss.detach()))
            epoch_loss += losses[-1]
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss):.3f}", refresh=False)
        metrics = evaluate_logits(model, dev) if dev is not None else {"mean_macro_f1": -epoch_loss}
        metrics.update(epoch=float(epoch + 1), step=float(step), elapsed_s=round(time.monotonic() - t0, 1))
        history.append(metrics)
        say(f"epoch {epoch + 1}: {json.dumps({k: round(v, 4) for k, v in metrics.items()})}")
        if metrics["mean_macro_f1"] > best[0]:
            best = (metrics["mean_macro_f1"], _snapshot(model), metrics)
            bad_epochs = 0
            if config.checkpoint_each_epoch:
                _save(
                    model, tokenizer, out_dir, version, config, best[2], history, examples, train_ex, dev_ex
                )
        else:
            bad_epochs += 1
        if bad_epochs >= config.patience or step >= total:
            break
    bar.close()
    if best[1] is not None:
        model.load_state_dict(best[1], strict=False)
    from finsent.models.versions import new_version_id

    vid = version or new_version_id()
    path = _save(model, tokenizer, out_dir, vid, config, best[2], history, examples, train_ex, dev_ex)
    return TrainResult(path=path, version=vid, dev_metrics=best[2], history=history, losses=losses)


def _save(
    model: Any,
    tokenizer: Any,
    out_dir: str | Path,
    version: str | None,
    config: TrainConfig,
    dev_metrics: dict[str, float],
    history: list[dict[str, float]],
    examples: Sequence[Example],
    train_ex: Sequence[Example],
    dev_ex: Sequence[Example],
) -> Path:
    from finsent.models.versions import new_version_id, save_version

    return save_version(
        model,
        tokenizer,
        out_dir,
        version=version or new_version_id(),
        config=asdict(config),
        dev_metrics=dev_metrics,
        history=history,
        fingerprint=data_fingerprint(examples),
        n_train=len(train_ex),
        n_dev=len(dev_ex),
    )


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


def _optimizer(model: Any, config: TrainConfig, total: int) -> tuple[Any, Any]:
    import torch

    heads = [p for n, p in model.named_parameters() if n.split(".")[0].endswith("_head")]
    head_ids = {id(p) for p in heads}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    optim = torch.optim.AdamW(
        [{"params": body, "lr": config.lr}, {"params": heads, "lr": config.head_lr}],
        weight_decay=config.weight_decay,
    )
    warm = max(1, int(total * config.warmup_ratio))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return optim, torch.optim.lr_scheduler.LambdaLR(optim, factor)


def _snapshot(model: Any) -> dict[str, Any]:
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in trainable}
