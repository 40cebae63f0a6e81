"""The training set of a retraining run: base data replayed, labels oversampled, gold held out.

* The **gold set** is a fixed, seeded sample of the base training data. It never changes between
  runs (same data, same seed) and no challenger trains on it, so gold metrics of successive
  versions are comparable. (The shipped default model did see it: for that model the gold set
  measures retention, not generalisation -- exactly what the gate's "not worse" check needs.)
* **Replay**: a seeded sample of the rest of the base data goes back into every run so that new
  labels do not make the model forget what it knew (catastrophic forgetting).
* **Labels**: the newest label per text and task wins; a stable hash of the text puts a fixed
  share of them in the **held-out slice** (never trained on, in any run); the others are
  repeated until they make up ``label_share`` of the training set.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from finsent.lifecycle.config import RetrainConfig
from finsent.lifecycle.exceptions import RetrainError
from finsent.models.data import Example, Task, read_twitter_financial_news
from finsent.models.labels import SENTIMENT_LABELS
from finsent.models.text import normalize_text

__all__ = [
    "StoredLabel",
    "TrainingSet",
    "build_training_set",
    "in_holdout",
    "label_examples",
    "load_base_data",
    "split_gold",
]

TASKS: tuple[Task, Task] = ("topic", "sentiment")


@dataclass(frozen=True)
class StoredLabel:
    """A label as stored (``labels`` table): sentiment by name, topic by id."""

    text: str
    topic: int | None = None
    sentiment: str | None = None
    labeled_at: datetime | None = None
    id: int = 0


@dataclass
class TrainingSet:
    """What a challenger trains on and is judged on."""

    train: list[Example]
    gold: list[Example]
    holdout: list[Example]
    counts: dict[str, Any] = field(default_factory=dict)


def load_base_data(root: str | Path) -> list[Example]:
    """The base training data: ``topic/train.csv`` + ``sentiment/train.csv`` under ``root``.

    Raises:
        RetrainError: A file is missing.
    """
    base = Path(root)
    examples: list[Example] = []
    for task in TASKS:
        path = base / task / "train.csv"
        if not path.is_file():
            raise RetrainError(f"base training data {path} is missing (RetrainConfig.base_data)")
        examples.extend(read_twitter_financial_news(path, task).examples)
    return examples


def _key(text: str) -> str:
    return normalize_text(text).lower()


def _has(example: Example, task: Task) -> bool:
    return example.label(task) is not None


def split_gold(examples: Sequence[Example], size: int, seed: int) -> tuple[list[Example], list[Example]]:
    """Seeded gold sample (``size // 2`` per task) and the remaining examples, order kept."""
    rng = random.Random(seed)
    chosen: set[int] = set()
    for task in TASKS:
        idx = [i for i, e in enumerate(examples) if _has(e, task)]
        rng.shuffle(idx)
        chosen.update(idx[: size // 2])
    gold = [e for i, e in enumerate(examples) if i in chosen]
    rest = [e for i, e in enumerate(examples) if i not in chosen]
    return gold, rest


def in_holdout(text: str, fraction: float) -> bool:
    """Whether a labeled text belongs to the held-out slice (stable across runs and machines)."""
    digest = hashlib.sha256(("holdout\x1f" + _key(text)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def label_examples(labels: Iterable[StoredLabel]) -> list[Example]:
    """One example per labeled text: the newest topic and the newest sentiment label win.

    Labels with an unknown sentiment name are ignored (validation keeps them out of the table).
    """
    latest: dict[tuple[str, Task], tuple[tuple[float, int], int, str]] = {}
    for lab in labels:
        # Labels without a time sort before timed ones; ids break ties (the later insert wins).
        stamp = (lab.labeled_at.timestamp() if lab.labeled_at else float("-inf"), lab.id)
        key = _key(lab.text)
        if not key:
            continue
        values: list[tuple[Task, int | None]] = [("topic", lab.topic)]
        sent = SENTIMENT_LABELS.index(lab.sentiment) if lab.sentiment in SENTIMENT_LABELS else None
        values.append(("sentiment", sent))
        for task, value in values:
            if value is None:
                continue
            old = latest.get((key, task))
            if old is None or stamp > old[0]:
                latest[(key, task)] = (stamp, value, lab.text.strip())
    merged: dict[str, dict[str, Any]] = {}
    for (key, task), (_, value, text) in latest.items():
        merged.setdefault(key, {"text": text})[task] = value
    return [Example(v["text"], topic=v.get("topic"), sentiment=v.get("sentiment")) for v in merged.values()]


def _per_task(examples: Iterable[Example]) -> dict[str, int]:
    items = list(examples)
    return {task: sum(1 for e in items if _has(e, task)) for task in TASKS}


def build_training_set(
    base: Sequence[Example],
    labels: Sequence[StoredLabel],
    config: RetrainConfig,
    *,
    new_since: datetime | None = None,
) -> TrainingSet:
    """Mix base data and labels into a challenger's training set; hold out gold and label slices.

    Args:
        base: The base training data (order matters for the seeded samples: pass it as read).
        labels: Every stored label.
        config: Sizes, seeds, shares.
        new_since: Labels after this time count as *new* in the report counts.

    Returns:
        Training examples, the gold set, the held-out labels and the counts for the report.
    """
    gold, rest = split_gold(base, config.gold_size, config.gold_seed)
    labeled = label_examples(labels)
    labeled_keys = {(_key(e.text), t) for e in labeled for t in TASKS if _has(e, t)}
    # A label overrides the base data's label of the same text (the analyst knows better).
    rest = [e for e in rest if not any((_key(e.text), t) in labeled_keys for t in TASKS if _has(e, t))]
    replay = list(rest)
    random.Random(config.replay_seed).shuffle(replay)
    if config.replay_size > 0:
        replay = replay[: config.replay_size]
    holdout = [e for e in labeled if in_holdout(e.text, config.holdout_fraction)]
    label_train = [e for e in labeled if not in_holdout(e.text, config.holdout_fraction)]
    factor = _oversample(len(replay), len(label_train), config)
    train = replay + label_train * factor
    random.Random(config.seed).shuffle(train)
    new = [lab for lab in labels if new_since is None or (lab.labeled_at and lab.labeled_at > new_since)]
    counts = {
        "base": len(base),
        "gold": _per_task(gold),
        "replay": _per_task(replay),
        "labels_stored": len(labels),
        "labels_new": len(new),
        "labeled_texts": _per_task(labeled),
        "labels_train": _per_task(label_train),
        "labels_holdout": _per_task(holdout),
        "oversample": factor,
        "train_total": len(train),
    }
    return TrainingSet(train=train, gold=gold, holdout=holdout, counts=counts)


def _oversample(n_replay: int, n_labels: int, config: RetrainConfig) -> int:
    if n_labels == 0:
        return 0
    share = min(max(config.label_share, 0.0), 0.95)
    wanted = share * n_replay / (1.0 - share)
    return max(1, min(config.max_oversample, math.ceil(wanted / n_labels)))
