"""Labeling and retraining, the parts that need no database: label files, the training mix,
the promotion gate, drift statistics, active-learning ranking and the challenger pipeline.

The job that reads labels and scores from PostgreSQL, holds the run lock, registers and promotes
versions and raises alerts lives in the app shell (``finsent.lifecycle.job``): ``models`` imports
no other stage. Heavy dependencies (torch, transformers) are imported only when a model is
trained or loaded.
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
from finsent.lifecycle.exceptions import LabelError, RetrainError
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
