"""Model test fixtures: one tiny trained version per session (small sample, max_length 32)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

POSITIVE = [
    "Shares surge after record profit and raised guidance",
    "Company beats estimates, stock jumps to all-time high",
    "Analysts upgrade the bank to buy on strong growth",
    "Revenue soars as demand booms, shares rally",
]
NEGATIVE = [
    "Shares plunge after profit warning and guidance cut",
    "Company misses estimates, stock tumbles to multi-year low",
    "Analysts downgrade the bank to sell on weak outlook",
    "Revenue slumps as demand collapses, shares sink",
]
NEUTRAL = [
    "The company will hold its annual meeting on Tuesday",
    "Board schedules quarterly call for next month",
    "Firm publishes its annual report on the website",
    "The exchange lists trading hours for the holiday week",
]


def tiny_examples() -> list[Any]:
    """A tiny two-task training set: every example carries one label."""
    from finsent.models.data import Example

    out = []
    for i, texts in enumerate((NEGATIVE, NEUTRAL, POSITIVE)):
        out += [Example(t, sentiment=i) for t in texts]
    out += [Example(t, topic=5) for t in POSITIVE[:2] + NEGATIVE[:2]]
    out += [Example(t, topic=17) for t in NEUTRAL]
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Train a tiny model once per session (a few steps of the top layer only)."""
    import torch

    from finsent.models.training import TrainConfig, train

    torch.set_num_threads(2)
    config = TrainConfig(
        mode="top",
        train_layers=1,
        epochs=8,
        batch_size=8,
        lr=1e-3,
        head_lr=1e-2,
        max_length=32,
        dev_fraction=0.0,
        patience=100,
        adapter_dtype="float32",
        seed=3,
    )
    out = tmp_path_factory.mktemp("tiny") / "v-tiny"
    return train(tiny_examples(), out, config, version="v-tiny", progress=False)


@pytest.fixture(scope="session")
def tiny_version(tiny_run: Any) -> Path:
    """Directory of the tiny trained version."""
    return Path(tiny_run.path)


@pytest.fixture(scope="session")
def classifier(tiny_version: Path) -> Iterator[Any]:
    """The tiny version loaded on the fp32 CPU path."""
    from finsent.models import Classifier

    yield Classifier.load(tiny_version, device="cpu", cpu_backend="fp32", max_length=32, batch_size=4)
