"""One challenger, start to finish, without a database: train, judge, report, publish atomically.

:func:`train_and_judge` trains a challenger warm-started from production into a temporary
directory inside the model store, evaluates both models on the gold set and the held-out labels,
applies the gate, measures drift, writes the report into the version directory, and only then
renames the directory to its version id (an atomic rename on one filesystem). A crash at any
point before the rename leaves only a ``.tmp-retrain-*`` directory, which the next run removes;
the caller registers the version after this function returns, so nothing half-written is ever
registered.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finsent.lifecycle.config import RetrainConfig
from finsent.lifecycle.dataset import TrainingSet
from finsent.lifecycle.drift import DriftReport, Prediction, compute_drift, unk_rate, vocabulary
from finsent.lifecycle.gate import Decision, SetEval, decide, evaluate_set
from finsent.lifecycle.report import build_report, compact, write_json_atomic
from finsent.models.data import Example
from finsent.models.training import TrainConfig, TrainResult

__all__ = [
    "TMP_PREFIX",
    "ChallengerResult",
    "StreamSample",
    "clean_stale_dirs",
    "load_tokenizer",
    "measure_drift",
    "train_and_judge",
]

log = logging.getLogger(__name__)

#: Prefix of the directories a run trains into (removed by the next run after a crash).
TMP_PREFIX = ".tmp-retrain-"
REPORT_FILE = "retrain_report.json"
#: The manifest file of a version directory (``models.network.MANIFEST``; that module imports torch).
MANIFEST = "finsent_model.json"

TrainFn = Callable[..., TrainResult]
Predict = Callable[[Sequence[str]], Any]
LoadFn = Callable[[Path], Predict]


@dataclass
class StreamSample:
    """The recent stream as drift sees it: production's predictions and the scored texts."""

    predictions: list[Prediction] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass
class ChallengerResult:
    """A trained, judged challenger whose directory is in the store under its version id."""

    version: str
    path: Path
    decision: Decision
    report: dict[str, Any]


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a version directory (see :func:`models.network.read_manifest`)."""
    from finsent.models.network import read_manifest as read

    return read(path)


def clean_stale_dirs(store_dir: str | Path) -> list[Path]:
    """Remove temporary directories left by crashed runs; call only while holding the run lock."""
    removed = []
    root = Path(store_dir)
    if root.is_dir():
        for child in root.iterdir():
            if child.is_dir() and child.name.startswith(TMP_PREFIX):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed


def load_tokenizer(version_dir: str | Path) -> Any:
    """The tokenizer of a version directory (its own, or its base encoder's)."""
    from transformers import AutoTokenizer

    from finsent.models.network import resolve_base_model

    root = Path(version_dir)
    tok_dir = root / "tokenizer"
    name = str(tok_dir) if tok_dir.is_dir() else resolve_base_model(read_manifest(root).get("base_model"))
    return AutoTokenizer.from_pretrained(name)


def _default_load(config: RetrainConfig) -> LoadFn:
    def load(path: Path) -> Predict:
        from finsent.models.inference import Classifier

        clf = Classifier.load(
            path, cpu_backend=config.eval_backend, max_length=128, batch_size=config.eval_batch_size
        )
        return clf.predict

    return load


def measure_drift(
    reference_scores: Sequence[Any],
    gold: Sequence[Example],
    rest_texts: Sequence[str],
    stream: StreamSample,
    config: RetrainConfig,
    tokenizer: Any | None = None,
) -> DriftReport:
    """Drift of ``stream`` against production's predictions on the gold set and the training words."""
    reference = [Prediction(s.topic, s.sentiment, s.confidence) for s in reference_scores]
    unk = None
    if tokenizer is not None:
        unk = (unk_rate(tokenizer, [e.text for e in gold]), unk_rate(tokenizer, stream.texts))
    return compute_drift(
        reference,
        stream.predictions,
        recent_texts=stream.texts,
        reference_texts=[e.text for e in gold],
        vocab=vocabulary(rest_texts),
        low_confidence=config.low_confidence,
        psi_alert=config.psi_alert,
        oov_alert_ratio=config.oov_alert_ratio,
        unk=unk,
    )


def _default_train(examples: Sequence[Example], out: Path, tc: TrainConfig, **kw: Any) -> TrainResult:
    from finsent.models.training import train

    return train(examples, out, tc, **kw)


def _training_summary(losses: Sequence[float], seconds: float) -> dict[str, Any]:
    return {"steps": len(losses), "seconds": round(seconds, 1), "final_loss": losses[-1] if losses else None}


def train_and_judge(
    training: TrainingSet,
    *,
    production_path: str | Path,
    production_version: str,
    store_dir: str | Path,
    version: str,
    config: RetrainConfig,
    run_id: str,
    trigger: str = "manual",
    rest_texts: Sequence[str] = (),
    stream: StreamSample | None = None,
    train_fn: TrainFn | None = None,
    load_fn: LoadFn | None = None,
    progress: bool = False,
) -> ChallengerResult:
    """Train a challenger, judge it against production and publish its directory (see module doc).

    Args:
        training: The training set, gold set and held-out labels.
        production_path: Directory of the production version (warm start and baseline).
        production_version: Its version id.
        store_dir: The model store; the challenger ends up in ``store_dir/version``.
        version: The challenger's version id.
        config: Run parameters.
        run_id: Id of the run (in the report).
        trigger: What started the run.
        rest_texts: Base training texts outside the gold set (vocabulary for the OOV rate).
        stream: The recent stream for the drift check (None: no stream data).
        train_fn: Replaces :func:`models.training.train` (tests inject failures with it).
        load_fn: Loads a version directory and returns its ``predict`` (default: Classifier).
        progress: Show a training progress bar.

    Returns:
        The challenger's final directory, the decision and the full report.
    """
    started = datetime.now(UTC)
    store = Path(store_dir)
    final = store / version
    if final.exists():
        raise FileExistsError(f"{final} exists already; pick another version id")
    tmp = store / f"{TMP_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
    store.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(production_path)
        tc = config.train_config(production_path, manifest)
        t0 = time.monotonic()
        result = (train_fn or _default_train)(training.train, tmp, tc, version=version, progress=progress)
        train_s = time.monotonic() - t0
        load = load_fn or _default_load(config)
        evals, prod_gold_scores = _evaluate(load, Path(production_path), tmp, training)
        gold, holdout = evals["gold"], evals["holdout"]
        decision = decide(gold["before"], gold["after"], holdout["before"], holdout["after"], config)
        sample = stream or StreamSample()
        tokenizer = _safe_tokenizer(production_path)
        drift = measure_drift(prod_gold_scores, training.gold, rest_texts, sample, config, tokenizer)
        report = build_report(
            run_id=run_id,
            trigger=trigger,
            started_at=started,
            finished_at=datetime.now(UTC),
            production=production_version,
            challenger=version,
            config=config.to_dict(),
            counts=training.counts,
            evals=evals,
            decision=decision,
            drift=drift.to_dict(),
            training=_training_summary(result.losses, train_s),
        )
        _finish_version(tmp, report)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ChallengerResult(version=version, path=final, decision=decision, report=report)


def _evaluate(
    load: LoadFn, production: Path, challenger: Path, training: TrainingSet
) -> tuple[dict[str, dict[str, SetEval]], list[Any]]:
    evals: dict[str, dict[str, SetEval]] = {"gold": {}, "holdout": {}}
    reference: list[Any] = []
    for side, path in (("before", production), ("after", challenger)):
        predict = load(path)
        evals["gold"][side], scores = evaluate_set(predict, training.gold)
        evals["holdout"][side], _ = evaluate_set(predict, training.holdout)
        if side == "before":
            reference = scores
    return evals, reference


def _safe_tokenizer(path: str | Path) -> Any | None:
    try:
        return load_tokenizer(path)
    except Exception:  # the [UNK] rate is optional; a missing tokenizer must not fail the run
        log.warning("no tokenizer for %s; drift report without the [UNK] rate", path, exc_info=True)
        return None


def _finish_version(root: Path, report: dict[str, Any]) -> None:
    """Put the report into the version directory (full file + compact manifest entry + card)."""
    from finsent.models.versions import write_model_card

    write_json_atomic(root / REPORT_FILE, report)
    manifest_path = root / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.setdefault("metrics", {})["retrain"] = compact(report)
    write_json_atomic(manifest_path, manifest)
    write_model_card(root)
