"""Structured (JSON lines) logging for the worker: one object per record, ``extra`` fields included."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "logging_config"]

# Attributes every LogRecord has; anything else came from ``extra=`` and is emitted as a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra}`` per line; exceptions as ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def logging_config(level: str = "INFO", *, json_lines: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: finsent's loggers at ``level``, Faust/aiokafka at WARNING."""
    formatter = (
        {"()": f"{__name__}.JsonFormatter"}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            **{name: {"level": level} for name in ("finsent", "faust.worker")},
            # model loaders' reports (unused pooler weights...) are not worker events; shown at DEBUG
            **{name: {"level": _third_party_level(level)} for name in _MODEL_LIBRARIES},
        },
    }


_MODEL_LIBRARIES = ("transformers", "huggingface_hub", "sentence_transformers", "onnxruntime")


def _third_party_level(level: str) -> str:
    return "DEBUG" if str(level).upper() == "DEBUG" else "ERROR"
