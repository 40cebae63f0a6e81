"""The retraining job: lock, data from PostgreSQL, challenger, registry, report, failure alert.

The model-side work is :func:`finsent.lifecycle.train_and_judge`; this module adds what needs
the database (through ``finsent.storage`` repositories) and the alerts stage. A run:

1. takes the run lock -- an in-process lock plus a PostgreSQL session advisory lock
   (``storage.locks``), so two runs never overlap, in one process or across machines; a run that
   finds it taken is skipped;
2. reads the labels, the production version and a sample of the recent stream;
3. trains and judges a challenger (replay + oversampled labels, warm start, gold + held-out gate);
4. registers the challenger *last* (candidate, with the decision in ``notes`` and the compact
   report in ``metrics.retrain``) and promotes it when the gate passed -- running workers
   hot-reload production from the registry;
5. writes the full report to ``<data_dir>/retrain/reports/<run id>.json``.

A run that raises records a failed report and opens (or updates) a ``retrain_failed`` alert
through the alerts stage's lifecycle and store (:mod:`finsent.lifecycle.retrain_alerts`); the next
successful run resolves it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from finsent.core.netguard import AddressPolicy
from finsent.core.settings import Settings
from finsent.lifecycle import (
    DriftReport,
    Prediction,
    RetrainConfig,
    RetrainError,
    StoredLabel,
    StreamSample,
    build_training_set,
    clean_stale_dirs,
    load_base_data,
    measure_drift,
    split_gold,
    train_and_judge,
)
from finsent.lifecycle.pipeline import LoadFn, TrainFn, load_tokenizer
from finsent.lifecycle.report import build_report, write_json_atomic
from finsent.lifecycle.retrain_alerts import raise_failure_alert, resolve_failure_alert
from finsent.models.registry import ModelRecord, ModelRegistry
from finsent.models.text import compose_text
from finsent.storage import labels_repo
from finsent.storage.locks import advisory_lock, advisory_lock_key
from finsent.storage.model_versions import SqlModelIndex

__all__ = [
    "LOCK_KEY",
    "RetrainJob",
    "RunOutcome",
    "config_from_settings",
    "measure_stream_drift",
    "reports_dir",
    "run_lock",
    "stream_sample",
]

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock every retraining run holds (a stable 63-bit hash).
LOCK_KEY = advisory_lock_key("finsent.retrain")
_PROCESS_LOCK = threading.Lock()

Status = Literal["promoted", "candidate", "skipped", "failed"]


@dataclass
class RunOutcome:
    """What a run did."""

    status: Status
    run_id: str
    reason: str
    version: str | None = None
    report: dict[str, Any] | None = None
    report_path: Path | None = None


def reports_dir(settings: Settings) -> Path:
    """Where run reports are written."""
    return settings.data_dir / "retrain" / "reports"


def config_from_settings(settings: Settings, **overrides: Any) -> RetrainConfig:
    """The run configuration: defaults, then the ``retrain`` settings that are set, then overrides."""
    from_settings = settings.retrain.model_dump(exclude={"cron"}, exclude_none=True)
    return RetrainConfig().with_overrides(**from_settings).with_overrides(**overrides)


@contextlib.contextmanager
def run_lock(engine: Engine) -> Iterator[bool]:
    """Hold the retraining lock for the block; yields False (and holds nothing) when it is taken.

    The advisory lock belongs to one database session: if this process dies, PostgreSQL releases
    it with the connection, so a crash never leaves the job locked.
    """
    if not _PROCESS_LOCK.acquire(blocking=False):
        yield False
        return
    try:
        with advisory_lock(engine, LOCK_KEY) as got:
            yield got
    finally:
        _PROCESS_LOCK.release()


class RetrainJob:
    """One retraining job on a database and model store (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        config: RetrainConfig | None = None,
        *,
        train_fn: TrainFn | None = None,
        load_fn: LoadFn | None = None,
        alert_on_failure: bool = True,
        progress: bool = False,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.config = config or config_from_settings(settings)
        self.train_fn = train_fn
        self.load_fn = load_fn
        self.alert_on_failure = alert_on_failure
        self.progress = progress

    def registry(self) -> ModelRegistry:
        """The model registry on this job's database and store."""
        return ModelRegistry(SqlModelIndex(self.engine), self.settings.model_store_dir)

    def run(self, trigger: str = "manual", *, force: bool = False) -> RunOutcome:
        """Run once unless another run holds the lock; never raises for a failed run.

        Args:
            trigger: What started the run (``cron``, ``manual``...), recorded in the report.
            force: Retrain even when no label arrived since the production version.
        """
        run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        with run_lock(self.engine) as acquired:
            if not acquired:
                log.info("retrain %s skipped: another run holds the lock", run_id)
                return RunOutcome("skipped", run_id, "another retraining run is in progress")
            started = datetime.now(UTC)
            try:
                outcome = self._run_locked(run_id, trigger, force, started)
            except Exception as exc:
                log.exception("retrain run %s failed", run_id)
                return self._failed(run_id, trigger, started, exc)
            if self.alert_on_failure and outcome.status in ("promoted", "candidate"):
                with contextlib.suppress(Exception):
                    resolve_failure_alert(self.engine, run_id)
            return outcome

    def _run_locked(self, run_id: str, trigger: str, force: bool, started: datetime) -> RunOutcome:
        registry = self.registry()
        for stale in clean_stale_dirs(self.settings.model_store_dir):
            log.warning("removed %s left by an interrupted run", stale)
        production = _production(registry)
        with self.engine.connect() as conn:
            rows = labels_repo.list_labels(conn)
        labels = [StoredLabel(r["text"], r["topic"], r["sentiment"], r["labeled_at"], r["id"]) for r in rows]
        since = production.created_at
        n_new = sum(1 for lab in labels if since is None or (lab.labeled_at and lab.labeled_at > since))
        if self.config.require_new_labels and n_new == 0 and not force:
            reason = f"no new labels since production version {production.version} was registered"
            return self._skipped(run_id, trigger, started, production.version, reason, len(labels))
        base = load_base_data(self.config.base_data)
        training = build_training_set(base, labels, self.config, new_since=since)
        if not any(training.counts["labels_train"].values()):
            reason = "no labels to train on (every label is in the held-out slice)"
            return self._skipped(run_id, trigger, started, production.version, reason, len(labels))
        gold_texts = {e.text for e in training.gold}
        result = train_and_judge(
            training,
            production_path=production.path,
            production_version=production.version,
            store_dir=self.settings.model_store_dir,
            version=self._new_version(registry),
            config=self.config,
            run_id=run_id,
            trigger=trigger,
            rest_texts=[e.text for e in base if e.text not in gold_texts],
            stream=self._stream_sample(production.version),
            train_fn=self.train_fn,
            load_fn=self.load_fn,
            progress=self.progress,
        )
        # Registered last: a crash before this line leaves nothing in the registry.
        registry.register(result.path, notes=result.decision.reason, copy=False)
        status: Status = "candidate"
        if result.decision.promote:
            registry.promote(result.version)
            status = "promoted"
        report = {**result.report, "registry_status": "production" if status == "promoted" else status}
        path = write_json_atomic(reports_dir(self.settings) / f"{run_id}.json", report)
        log.info("retrain %s: %s (%s)", run_id, result.version, result.decision.reason)
        return RunOutcome(status, run_id, result.decision.reason, result.version, report, path)

    def _new_version(self, registry: ModelRegistry) -> str:
        from finsent.models.versions import new_version_id

        base = new_version_id("r")
        version, n = base, 1
        while registry.index.get(version) is not None or (self.settings.model_store_dir / version).exists():
            n += 1
            version = f"{base}-{n}"
        return version

    def _stream_sample(self, version: str) -> StreamSample:
        return stream_sample(self.engine, version, self.config)

    def _report(
        self,
        run_id: str,
        trigger: str,
        started: datetime,
        production: str,
        counts: dict[str, Any],
        status: str,
        error: str | None = None,
    ) -> dict[str, Any]:
        """The report of a run that trained nothing (skipped or failed)."""
        return build_report(
            run_id=run_id,
            trigger=trigger,
            started_at=started,
            finished_at=datetime.now(UTC),
            production=production,
            challenger=None,
            config=self.config.to_dict(),
            counts=counts,
            status=status,
            error=error,
        )

    def _skipped(
        self, run_id: str, trigger: str, started: datetime, production: str, reason: str, n_labels: int
    ) -> RunOutcome:
        report = self._report(run_id, trigger, started, production, {"labels_stored": n_labels}, "skipped")
        report["reason"] = reason
        path = write_json_atomic(reports_dir(self.settings) / f"{run_id}.json", report)
        log.info("retrain %s skipped: %s", run_id, reason)
        return RunOutcome("skipped", run_id, reason, None, report, path)

    def _failed(self, run_id: str, trigger: str, started: datetime, exc: Exception) -> RunOutcome:
        error = f"{type(exc).__name__}: {exc}"
        report = self._report(run_id, trigger, started, "", {}, "failed", error)
        path: Path | None = None
        try:
            path = write_json_atomic(reports_dir(self.settings) / f"{run_id}.json", report)
        except OSError:
            log.exception("could not write the report of failed run %s", run_id)
        if self.alert_on_failure:
            try:
                raise_failure_alert(
                    self.engine,
                    run_id,
                    error,
                    report_path=path,
                    started_at=started,
                    guard=AddressPolicy.for_webhooks(self.settings.alerts.webhook_allow),
                )
            except Exception:  # the alert is best effort; the failure is logged either way
                log.exception("could not raise the retrain failure alert for run %s", run_id)
        return RunOutcome("failed", run_id, error, None, report, path)


def _production(registry: ModelRegistry) -> ModelRecord:
    production = registry.production()
    if production is None:
        raise RetrainError("no production model is registered (run `finsent up` first)")
    return production


def stream_sample(engine: Engine, version: str, config: RetrainConfig) -> StreamSample:
    """Production's recent scores (last ``config.drift_days``) and their texts, newest first."""
    since = datetime.now(UTC) - timedelta(days=config.drift_days)
    with engine.connect() as conn:
        rows = labels_repo.recent_scores(conn, version=version, since=since, limit=config.drift_max_scores)
    return StreamSample(
        predictions=[Prediction(r["topic"], r["sentiment"], r["confidence"]) for r in rows],
        texts=[compose_text(r["title"], r["body"]) for r in rows],
    )


def measure_stream_drift(settings: Settings, engine: Engine, config: RetrainConfig) -> DriftReport:
    """Drift of production's recent scores against the training data (``finsent drift``).

    The reference is the production model's predictions on the first ``config.gold_size``
    examples of the fixed gold sample of the base data.

    Raises:
        RetrainError: No production model, or no base data.
    """
    from finsent.models.inference import Classifier  # heavy (torch): only when drift is measured

    production = _production(ModelRegistry(SqlModelIndex(engine), settings.model_store_dir))
    base = load_base_data(config.base_data)
    gold, rest = split_gold(base, config.gold_size, config.gold_seed)
    clf = Classifier.load(
        production.path,
        device=settings.models.device,
        cpu_backend=settings.models.cpu_backend,
        max_length=settings.models.max_length,
        batch_size=settings.stream.batch_size,
    )
    reference = clf.predict([e.text for e in gold])
    stream = stream_sample(engine, production.version, config)
    tokenizer = load_tokenizer(production.path)
    return measure_drift(reference, gold, [e.text for e in rest], stream, config, tokenizer)
