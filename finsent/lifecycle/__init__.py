"""The model-lifecycle stage: labeling, retraining, drift and the retraining schedule.

It lives in the shell's folder (the product brief fixes the top-level folders) but is a floor of
its own, above alerts and below dashboards and the shell (``tests/unit/test_layering.py``): it
may import core, storage, models and alerts. The model registry itself (version directories plus
an index) stays in :mod:`finsent.models.registry`, one floor down, because stream workers load
-- and, when none is promoted, register -- the production model.

* pure parts: label files and validation (:mod:`.labels_io`), the training mix (:mod:`.dataset`),
  the promotion gate (:mod:`.gate`), drift statistics (:mod:`.drift`), active-learning ranking
  (:mod:`.active`), the challenger pipeline (:mod:`.pipeline`), run reports (:mod:`.report`) and
  the run configuration (:mod:`.config`);
* flows over the database (SQL stays in ``finsent.storage`` repositories): labels in and the
  labeling queue, shared by the CLI and the HTTP API (:mod:`.labeling`); the retraining job with
  its run lock (:mod:`.job`); the ``retrain_failed`` alert through the alerts stage
  (:mod:`.retrain_alerts`); the cron schedule (:mod:`.schedule`).

The shell only parses arguments and wires (``finsent labels|retrain|scheduler|drift``). Heavy
dependencies (torch, transformers) are imported only when a model is trained or loaded.
"""

from __future__ import annotations

from finsent.lifecycle.active import Candidate, Proposal, rank_candidates
from finsent.lifecycle.config import DEFAULT_BASE_DATA, RetrainConfig
from finsent.lifecycle.dataset import (
    StoredLabel,
    TrainingSet,
    build_training_set,
    load_base_data,
    split_gold,
)
from finsent.lifecycle.drift import DriftReport, Prediction, compute_drift
from finsent.lifecycle.exceptions import LabelError, RetrainError, UnknownArticleError
from finsent.lifecycle.gate import Decision, SetEval, decide, evaluate_set
from finsent.lifecycle.labels_io import LabelImport, LabelRow, read_label_file, validate_label
from finsent.lifecycle.pipeline import (
    ChallengerResult,
    StreamSample,
    clean_stale_dirs,
    measure_drift,
    train_and_judge,
)

__all__ = [
    "DEFAULT_BASE_DATA",
    "Candidate",
    "ChallengerResult",
    "Decision",
    "DriftReport",
    "LabelError",
    "LabelImport",
    "LabelRow",
    "Prediction",
    "Proposal",
    "RetrainConfig",
    "RetrainError",
    "SetEval",
    "StoredLabel",
    "StreamSample",
    "TrainingSet",
    "UnknownArticleError",
    "build_training_set",
    "clean_stale_dirs",
    "compute_drift",
    "decide",
    "evaluate_set",
    "load_base_data",
    "measure_drift",
    "rank_candidates",
    "read_label_file",
    "split_gold",
    "train_and_judge",
    "validate_label",
]
