"""Exceptions of labeling and retraining, split by what the caller should do."""

from __future__ import annotations

from finsent.core.errors import BadDataError
from finsent.models.exceptions import ModelsError

__all__ = ["LabelError", "RetrainError", "UnknownArticleError"]


class LabelError(BadDataError, ModelsError):
    """One label is unusable (unknown topic, empty text, nothing labeled); reject that label."""


class RetrainError(ModelsError):
    """A retraining run cannot go on (no production model, no base data); the run fails."""


class UnknownArticleError(LabelError):
    """A label names an article that is not stored (the HTTP API answers 404)."""
