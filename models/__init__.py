"""Topic + sentiment models of finsent: training, evaluation, registry and the inference engine.

Public surface::

    from finsent.models import Classifier, Score, compose_text, TOPIC_LABELS, SENTIMENT_LABELS
    clf = Classifier.load(path)            # a model version directory
    clf.predict(["Apple beats estimates"]) # -> [Score(...)]
    clf.predict(["A jumps as B slumps"], [[EntityTarget("A", ((0, 1),)), EntityTarget("B", ((14, 15),))]])
    # -> Score.entities: one EntityScore per target (empty where clf.has_entity_head is False)

Training runs one loop, :class:`Trainer` (``finsent.models.training.train`` fine-tunes with it;
``finsent.models.distill.DistillationTrainer`` overrides its loss and optimiser hooks).

Heavy dependencies (torch, transformers, onnxruntime) are imported only when a model is loaded
or trained.
"""

from __future__ import annotations

from finsent.models.entities import EntityScore, EntityTarget
from finsent.models.exceptions import (
    DataFormatError,
    EmptyTextError,
    EntitySpanError,
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
    "EntityScore",
    "EntitySpanError",
    "EntityTarget",
    "ModelLoadError",
    "ModelsError",
    "RegistryError",
    "Score",
    "Trainer",
    "TrainerArgs",
    "compose_text",
    "normalize_text",
]
