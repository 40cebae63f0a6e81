"""Shared fakes of the stream unit tests (the classifier is the only thing faked; not collected)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeScore:
    topic: int
    topic_label: str
    topic_probs: list[float]
    sentiment: str
    sentiment_probs: list[float]
    score: float
    confidence: float
    model_version: str
