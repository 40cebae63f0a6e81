"""The names settings go by, and the check that every ``FINSENT_*`` name is one of them.

A typo must not be silently ignored: ``FINSENT_RETRAIN_EPOCH=3`` would leave the nightly job on
its default epochs while the operator believes otherwise. :func:`check_names` runs before the
settings are read and names the closest real setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from finsent.core.errors import ConfigError

__all__ = ["NOT_SETTINGS", "RENAMED", "check_names", "env_name", "setting_paths", "unknown_key_message"]

PREFIX = "FINSENT_"
DELIMITER = "__"

#: ``FINSENT_*`` variables that are not settings: each is read by exactly one named place.
NOT_SETTINGS = frozenset(
    {
        "FINSENT_CONFIG_FILE",  # settings.config_file(): where finsent.toml is
        "FINSENT_SPAWN_LOG",  # runtime.processes: log of a spawned embedded service (child env)
        "FINSENT_PG_SYSTEM_USER",  # runtime.postgres: OS user PostgreSQL runs as when started by root
        "FINSENT_ONNX_CACHE",  # models.backends: cache directory of ONNX exports
        "FINSENT_WEBHOOK_SECRET",  # `finsent alerts subscribe|test-webhook --secret` (typer envvar)
        "FINSENT_TEST_DATABASE_URL",  # tests/conftest.py: run the tests on an external PostgreSQL
        "FINSENT_TEST_KAFKA_BOOTSTRAP",  # tests/conftest.py: run the tests on an external broker
        "FINSENT_TEST_MODEL_CACHE",  # tests/e2e: cache of the models trained by the e2e tests
        # Grafana's datasource provisioning (docker-compose.yml, dashboards/grafana/provisioning):
        "FINSENT_PG_HOST",
        "FINSENT_PG_DB",
        "FINSENT_PG_USER",
        "FINSENT_PG_PASSWORD",
    }
)

#: Names of finsent 0.1 (flat settings), so an old deployment's variables get the new name.
RENAMED = {
    "FINSENT_STARTUP_TIMEOUT_S": "FINSENT_STARTUP_TIMEOUT",
    "FINSENT_TOPIC_PREFIX": "FINSENT_KAFKA__TOPIC_PREFIX",
    "FINSENT_TOPIC_PARTITIONS": "FINSENT_KAFKA__TOPIC_PARTITIONS",
    "FINSENT_EMBEDDED_PG_PORT": "FINSENT_EMBEDDED__PG_PORT",
    "FINSENT_EMBEDDED_KAFKA_PORT": "FINSENT_EMBEDDED__KAFKA_PORT",
    "FINSENT_BASE_MODEL": "FINSENT_MODELS__BASE_MODEL",
    "FINSENT_DEVICE": "FINSENT_MODELS__DEVICE",
    "FINSENT_CPU_BACKEND": "FINSENT_MODELS__CPU_BACKEND",
    "FINSENT_MAX_LENGTH": "FINSENT_MODELS__MAX_LENGTH",
    "FINSENT_BATCH_SIZE": "FINSENT_STREAM__BATCH_SIZE",
    "FINSENT_BATCH_WINDOW_S": "FINSENT_STREAM__BATCH_WINDOW",
    "FINSENT_WORKER_CONCURRENCY": "FINSENT_STREAM__CONCURRENCY",
    "FINSENT_METRICS_PORT": "FINSENT_STREAM__METRICS_PORT",
    "FINSENT_API_HOST": "FINSENT_API__HOST",
    "FINSENT_API_PORT": "FINSENT_API__PORT",
    "FINSENT_API_TOKEN": "FINSENT_API__TOKEN",
    "FINSENT_SOURCES_FILE": "FINSENT_INGEST__SOURCES_FILE",
    "FINSENT_USER_AGENT": "FINSENT_INGEST__USER_AGENT",
    "FINSENT_HTTP_TIMEOUT_S": "FINSENT_INGEST__HTTP_TIMEOUT",
    "FINSENT_MAX_BODY_BYTES": "FINSENT_INGEST__MAX_BODY_BYTES",
    "FINSENT_ALLOW_PRIVATE_ADDRESSES": "FINSENT_INGEST__ALLOW_PRIVATE_ADDRESSES",
    "FINSENT_RULES_FILE": "FINSENT_ALERTS__RULES_FILE",
    "FINSENT_RETRAIN_CRON": "FINSENT_RETRAIN__CRON",
}


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and hasattr(annotation, "model_fields")


def setting_paths(settings_cls: Any) -> list[tuple[str, ...]]:
    """Every settable field as a path: ``("data_dir",)``, ``("stream", "batch_size")``, ..."""
    paths: list[tuple[str, ...]] = []
    for name, field in settings_cls.model_fields.items():
        if _is_section(field.annotation):
            paths.extend((name, sub) for sub in field.annotation.model_fields)
        else:
            paths.append((name,))
    return paths


def env_name(path: Iterable[str]) -> str:
    """The variable of a field path: ``("stream", "batch_size")`` -> ``FINSENT_STREAM__BATCH_SIZE``."""
    return PREFIX + DELIMITER.join(path).upper()


def env_names(settings_cls: Any) -> set[str]:
    """Every ``FINSENT_*`` name the settings read (a whole section may also be given as JSON)."""
    names = {env_name(path) for path in setting_paths(settings_cls)}
    names |= {env_name((name,)) for name in settings_cls.model_fields}
    return names


def _closest(name: str, candidates: Iterable[str]) -> str:
    if name in RENAMED:
        unit = "; it takes a duration with its unit, e.g. 30s" if name.endswith("_S") else ""
        return f" (renamed {RENAMED[name]}{unit})"
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def check_names(settings_cls: Any, environ: Mapping[str, str], dotenv_names: Iterable[str] = ()) -> None:
    """Refuse ``FINSENT_*`` names no setting reads.

    Args:
        settings_cls: the settings class.
        environ: the process environment.
        dotenv_names: the names set in the ``.env`` file.

    Raises:
        ConfigError: naming every unknown variable and the closest setting to each.
    """
    known = env_names(settings_cls) | NOT_SETTINGS
    fields = {env_name(path) for path in setting_paths(settings_cls)}
    problems = []
    for where, names in (("", environ), (" (in .env)", dotenv_names)):
        for raw in names:
            name = raw.upper()
            if name.startswith(PREFIX) and name not in known:
                problems.append(f"unknown setting {name}{where}{_closest(name, fields)}")
    if problems:
        raise ConfigError("\n".join(sorted(set(problems))))


def unknown_key_message(settings_cls: Any, loc: tuple[str, ...], config_path: Path) -> str:
    """The message for a key no field reads that came from ``finsent.toml`` (or keyword arguments)."""
    dotted = ".".join(loc)
    fields = [".".join(path) for path in setting_paths(settings_cls)]
    where = f" in {config_path}" if config_path.is_file() else ""
    return f"unknown setting {dotted}{where}{_closest(dotted, fields)}"
