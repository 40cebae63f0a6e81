"""Retraining fixtures: a small production model trained once per session, a registry per test.

The "production" model is trained here (top layer only, a seeded sample of the shipped data,
max_length 32) so the tests run in seconds; each test registers a copy of it in its own model
store on the session's real PostgreSQL.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from finsent.core.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BASE_DATA = Path("/work/shared/datasets/twitter-financial-news")
BASE_VERSION = "v-test-base"

#: Small but real: what a test retrain run uses (JSON-able for `finsent retrain --config`).
TEST_CONFIG: dict[str, Any] = {
    "base_data": str(BASE_DATA),
    "gold_size": 200,
    "replay_size": 300,
    "label_share": 0.3,
    "holdout_fraction": 0.25,
    "min_holdout": 10,
    "gold_margin": 0.05,
    "epochs": 3,
    "lr": 1e-4,
    "head_lr": 2e-3,
    "batch_size": 32,
    "max_length": 32,
    "threads": 2,
    "eval_batch_size": 128,
    "drift_max_scores": 500,
}


def make_config(**overrides: Any) -> Any:
    """The test :class:`RetrainConfig` (with ``overrides``)."""
    from finsent.lifecycle import RetrainConfig

    values = {**TEST_CONFIG, "base_data": BASE_DATA, **overrides}
    return RetrainConfig().with_overrides(**values)


@pytest.fixture(scope="session")
def base_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small production-like model (top mode), trained once per session."""
    import torch

    from finsent.lifecycle import load_base_data, split_gold
    from finsent.models.training import TrainConfig, train

    torch.set_num_threads(2)
    _gold, rest = split_gold(load_base_data(BASE_DATA), TEST_CONFIG["gold_size"], 20251)
    random.Random(1).shuffle(rest)
    examples = [e for e in rest if e.sentiment is not None][:250] + [e for e in rest if e.topic is not None][
        :250
    ]
    config = TrainConfig(
        mode="top",
        train_layers=1,
        epochs=3,
        batch_size=32,
        lr=1e-3,
        head_lr=5e-3,
        max_length=32,
        dev_fraction=0.0,
        adapter_dtype="float32",
        seed=3,
        threads=2,
    )
    out = tmp_path_factory.mktemp("retrain-base") / BASE_VERSION
    return Path(train(examples, out, config, version=BASE_VERSION, progress=False).path)


@dataclass
class RetrainEnv:
    """One test's settings, engine, registry and config file."""

    settings: Settings
    engine: Engine
    registry: Any
    config_file: Path

    def env(self) -> dict[str, str]:
        """FINSENT_* variables pointing a CLI run at this test's stack and store."""
        s = self.settings
        assert s.database_url is not None
        return {
            "FINSENT_DATABASE_URL": s.database_url.get_secret_value(),
            "FINSENT_KAFKA_BOOTSTRAP": s.kafka_bootstrap or "",
            "FINSENT_DATA_DIR": str(s.data_dir),
            "FINSENT_MODEL_STORE": str(s.model_store_dir),
            "FINSENT_MODELS__CPU_BACKEND": "fp32",
        }


@pytest.fixture
def retrain_env(
    db_engine: Engine, settings_factory: Callable[..., Settings], base_model_dir: Path, tmp_path: Path
) -> RetrainEnv:
    """A registry whose production version is the session's small model."""
    from finsent.models.registry import ModelRegistry
    from finsent.storage.model_versions import SqlModelIndex

    settings = settings_factory(
        model_store=tmp_path / "store",
        models={"cpu_backend": "fp32"},
        alerts={"webhook_allow": ["127.0.0.0/8"]},  # the tests' webhook receiver is on loopback
    )
    registry = ModelRegistry(SqlModelIndex(db_engine), settings.model_store_dir)
    registry.register(base_model_dir, notes="test base")
    registry.promote(BASE_VERSION)
    config_file = tmp_path / "retrain.json"
    config_file.write_text(json.dumps(TEST_CONFIG), encoding="utf-8")
    return RetrainEnv(settings, db_engine, registry, config_file)


@dataclass
class WebhookReceiver:
    """A real HTTP peer on 127.0.0.1 that records what it receives."""

    url: str
    requests: list[dict[str, Any]]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A local webhook endpoint answering 204 and recording headers and bodies."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebhookReceiver(f"http://127.0.0.1:{server.server_address[1]}/hook", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
