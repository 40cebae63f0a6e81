"""The retraining job end to end on the real PostgreSQL: promote, reject, lock, crash, drift.

Each run trains a real challenger (small: a few hundred examples, max_length 32) warm-started
from the session's small production model.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from finsent.alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from finsent.cli import app
from finsent.lifecycle import load_base_data, split_gold, validate_label
from finsent.lifecycle.job import LOCK_KEY, RetrainJob
from finsent.lifecycle.labeling import store_labels
from finsent.models.inference import Classifier
from finsent.storage import alerts_repo, webhooks_repo
from tests.integration.retrain.conftest import BASE_DATA, BASE_VERSION, TEST_CONFIG, RetrainEnv, make_config
from tests.integration.retrain.retrain_data import poisoned_labels, slang_labels, slang_probe

pytestmark = pytest.mark.slow


def _add_labels(env: RetrainEnv, rows: list[dict[str, Any]]) -> None:
    labels = [validate_label(r, default_by="analyst") for r in rows]
    with env.engine.begin() as conn:
        assert store_labels(conn=conn, rows=labels).bad_rows == []


def _negative_share(model_dir: str | Path, texts: list[str]) -> float:
    clf = Classifier.load(model_dir, device="cpu", cpu_backend="fp32", max_length=64)
    return sum(s.sentiment == "negative" for s in clf.predict(texts)) / len(texts)


def _cli() -> typer.Typer:
    return app  # the real root app: its group runs each command in the application context


def test_new_slang_is_learned_and_the_challenger_promoted(retrain_env: RetrainEnv) -> None:
    probe = slang_probe()
    before = _negative_share(retrain_env.registry.production().path, probe)
    assert before <= 0.5, "the base model must not know the slang word already"
    _add_labels(retrain_env, slang_labels())
    result = CliRunner().invoke(
        _cli(),
        ["retrain", "--now", "--config", str(retrain_env.config_file), "--json"],
        env=retrain_env.env(),
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["decision"] == "promoted", report["reason"]
    production = retrain_env.registry.production()
    assert production.version == report["challenger_version"] != BASE_VERSION
    assert production.parent_version == BASE_VERSION
    # Headlines with the new word are now classified as labeled...
    assert _negative_share(production.path, probe) >= 0.8
    # ...while gold macro-F1 fell by no more than the margin on either task.
    gold = report["metrics"]["gold"]
    for task in ("topic", "sentiment"):
        drop = gold["before"]["tasks"][task]["macro_f1"] - gold["after"]["tasks"][task]["macro_f1"]
        assert drop <= TEST_CONFIG["gold_margin"]
    # The report is in the registry row and in a file; its counts add up.
    assert production.notes.startswith("promoted")
    assert production.metrics["retrain"]["decision"] == "promoted"
    saved = json.loads(
        (retrain_env.settings.data_dir / "retrain" / "reports" / f"{report['run_id']}.json").read_text()
    )
    assert saved["registry_status"] == "production"
    counts = saved["counts"]
    assert (
        counts["labels_train"]["sentiment"] + counts["labels_holdout"]["sentiment"]
        == counts["labeled_texts"]["sentiment"]
    )
    assert set(saved["metrics"]["holdout"]["after"]["tasks"]["sentiment"]["per_class"]) >= {"negative"}
    assert "oov" in saved["drift"] and saved["drift"]["oov"]["vocabulary_size"] > 1000


def test_poisoned_labels_are_rejected(retrain_env: RetrainEnv) -> None:
    _, rest = split_gold(load_base_data(BASE_DATA), TEST_CONFIG["gold_size"], 20251)
    texts = [e.text for e in rest if e.sentiment is not None]
    random.Random(5).shuffle(texts)
    _add_labels(retrain_env, poisoned_labels(texts[:160]))
    outcome = RetrainJob(retrain_env.settings, retrain_env.engine, make_config()).run("test")
    assert outcome.status == "candidate", outcome.reason
    assert outcome.reason.startswith("kept as candidate")
    assert retrain_env.registry.production().version == BASE_VERSION
    record = retrain_env.registry.get(outcome.version)
    assert record.status == "candidate" and record.notes == outcome.reason
    assert record.metrics["retrain"]["decision"] == "candidate"


def test_overlapping_triggers_make_one_run(retrain_env: RetrainEnv) -> None:
    _add_labels(retrain_env, slang_labels(30, 0))
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def blocking_train(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        entered.set()
        release.wait(60)
        raise RuntimeError("stop here")

    job = RetrainJob(
        retrain_env.settings,
        retrain_env.engine,
        make_config(),
        train_fn=blocking_train,
        alert_on_failure=False,
    )
    outcomes: list[Any] = []
    first = threading.Thread(target=lambda: outcomes.append(job.run("cron")))
    first.start()
    assert entered.wait(120)
    second = job.run("manual")  # same process
    other = RetrainJob(retrain_env.settings, retrain_env.engine, make_config(), train_fn=blocking_train)
    third = other.run("manual")
    release.set()
    first.join(60)
    assert second.status == third.status == "skipped"
    assert "in progress" in second.reason
    assert len(calls) == 1 and outcomes[0].status == "failed"


def test_advisory_lock_keeps_other_processes_out(retrain_env: RetrainEnv) -> None:
    _add_labels(retrain_env, slang_labels(30, 0))
    with retrain_env.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        outcome = RetrainJob(retrain_env.settings, retrain_env.engine, make_config()).run()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        conn.commit()
    assert outcome.status == "skipped"


def test_crash_mid_training_registers_nothing_alerts_and_next_run_works(
    retrain_env: RetrainEnv, webhook_receiver: Any
) -> None:
    with retrain_env.engine.begin() as conn:
        webhooks_repo.add_subscription(conn, webhook_receiver.url, "s3cret")
    _add_labels(retrain_env, slang_labels())
    store = retrain_env.settings.model_store_dir

    def crashing_train(examples: Any, out: Path, config: Any, **kwargs: Any) -> Any:
        out.mkdir(parents=True)
        (out / "heads.safetensors").write_bytes(b"half a file")
        raise MemoryError("killed mid-training")

    failed = RetrainJob(
        retrain_env.settings, retrain_env.engine, make_config(), train_fn=crashing_train
    ).run()
    assert failed.status == "failed" and "MemoryError" in failed.reason
    assert [r.version for r in retrain_env.registry.list()] == [BASE_VERSION]
    assert sorted(p.name for p in store.iterdir()) == [BASE_VERSION]
    assert json.loads(failed.report_path.read_text())["status"] == "failed"
    # The failure went out as a signed webhook through the alerts outbox.
    assert len(webhook_receiver.requests) == 1
    req = webhook_receiver.requests[0]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert verify_signature(
        "s3cret", headers[TIMESTAMP_HEADER.lower()], req["body"], headers[SIGNATURE_HEADER.lower()]
    )
    payload = json.loads(req["body"])
    assert payload["event"] == "opened" and payload["alert"]["rule_id"] == "retrain_failed"
    assert "killed mid-training" in payload["alert"]["details"]["error"]
    # The next run works and closes the alert.
    cheap = make_config(epochs=1, gold_size=60, replay_size=100)
    again = RetrainJob(retrain_env.settings, retrain_env.engine, cheap).run()
    assert again.status in ("promoted", "candidate"), again.reason
    assert retrain_env.registry.get(again.version).path == str((store / again.version).resolve())
    with retrain_env.engine.connect() as conn:
        assert [a["status"] for a in alerts_repo.list_alerts(conn)] == ["resolved"]


def test_no_new_labels_means_no_run(retrain_env: RetrainEnv) -> None:
    outcome = RetrainJob(retrain_env.settings, retrain_env.engine, make_config()).run()
    assert outcome.status == "skipped" and "no new labels" in outcome.reason
    assert outcome.report_path is not None and outcome.report_path.is_file()


def test_drift_command_prints_the_comparison(retrain_env: RetrainEnv) -> None:
    result = CliRunner().invoke(_cli(), ["drift", "--reference-size", "40", "--json"], env=retrain_env.env())
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["n_reference"] == 40 and report["n_recent"] == 0
    assert set(report["sentiment"]["reference"]) == {"negative", "neutral", "positive"}
    assert report["oov"]["reference_rate"] > 0
