"""Topic + sentiment models of finsent: training, evaluation, registry and the inference engine.

Public surface::

    from finsent.models import Classifier, Score, compose_text, TOPIC_LABELS, SENTIMENT_LABELS
    clf = Classifier.load(path)            # a model version directory
    clf.predict(["Apple beats estimates"]) # -> [Score(...)]

Training runs one loop, :class:`Trainer` (``finsent.models.training.train`` fine-tunes with it;
``finsent.models.distill.DistillationTrainer`` overrides its loss and optimiser hooks).

Heavy dependencies (torch, transformers, onnxruntime) are imported only when a model is loaded
or trained.
"""

from __future__ import annotations

from finsent.models.exceptions import (
    DataFormatError,
    EmptyTextError,
    ModelLoadError,
    ModelsError,
    RegistryError,
)
from finsent.models.inference import Classifier, Score
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
from finsent.models.text import compose_text, normalize_text
from finsent.models.trainer import Trainer, TrainerArgs

__all__ = [
    "SENTIMENT_LABELS",
    "TOPIC_LABELS",
    "Classifier",
    "DataFormatError",
    "EmptyTextError",
    "ModelLoadError",
    "ModelsError",
    "RegistryError",
    "Score",
    "Trainer",
    "TrainerArgs",
    "compose_text",
    "normalize_text",
]
