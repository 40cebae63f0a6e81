"""Keep third-party chatter (transformers' loader reports, progress bars, warnings, the torch
profiler's start/stop lines) out of the user's terminal: it goes to the log at debug level
instead, or is switched off.

``finsent bench inference``, ``train``, ``eval``, ``explain`` call :func:`quiet_third_party`
before loading a model; so do the benchmark's measuring subprocesses.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["THIRD_PARTY", "quiet_third_party"]

#: Top-level logger names treated as third-party noise ("py" = ``py.warnings``, "root" = bare
#: ``logging.warning(...)`` calls, which only libraries make: finsent logs through named loggers).
THIRD_PARTY = frozenset(
    {"transformers", "huggingface_hub", "sentence_transformers", "torch", "onnxruntime", "onnx", "py", "root"}
)


class _ThirdPartyFilter(logging.Filter):
    """Lets a third-party record through a handler only if that handler shows debug records."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] not in THIRD_PARTY:
            return True
        if self.handler.level > logging.DEBUG:
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def quiet_third_party() -> None:
    """Route third-party loader tables, progress bars and warnings to debug-level logging.

    Idempotent. finsent's own warnings still reach stderr (a plain handler stands in for
    logging's last-resort handler when the command configured none).
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Kineto (torch.profiler) prints "USDT: ... profiler_start / profiler_stop" to stderr at
    # its highest level (5); 6 silences it. Read when the profiler first starts, so it holds
    # even after torch is imported.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    logging.captureWarnings(True)
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
    for handler in root.handlers:
        if not any(isinstance(f, _ThirdPartyFilter) for f in handler.filters):
            handler.addFilter(_ThirdPartyFilter(handler))
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency
        return
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # transformers leaves it untyped
    hf_logging.disable_default_handler()  # its own stderr handler bypasses ours
    hf_logging.enable_propagation()
    if "onnxruntime" in sys.modules or _has_onnxruntime():
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # C++ warnings (initializer clean-ups) to nowhere


def _has_onnxruntime() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None
