"""A small supervisor for `finsent run`: child services as real processes, restarted if they die.

Each child is a `finsent ...` command with its output in ``<data_dir>/logs/<name>.log``. A child
that exits is restarted with exponential backoff (capped), so one crashing service never takes
the others down; stopping sends SIGTERM to all, then SIGKILL after a timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ChildSpec", "Supervisor", "finsent_argv"]

log = logging.getLogger(__name__)


def finsent_argv(*args: str) -> list[str]:
    """The command line that runs ``finsent ARGS`` with this interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "finsent", *args]


@dataclass
class ChildSpec:
    """One supervised service."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class _Child:
    spec: ChildSpec
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0


class Supervisor:
    """Start children, keep them running, stop them together."""

    def __init__(self, log_dir: Path, *, max_backoff_s: float = 30.0) -> None:
        self.log_dir = log_dir
        self.max_backoff_s = max_backoff_s
        self._children: list[_Child] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def add(self, spec: ChildSpec) -> Path:
        """Register and start a child; returns its log file."""
        child = _Child(spec, self.log_dir / f"{spec.name}.log")
        self._children.append(child)
        self._start(child)
        return child.log_path

    def _start(self, child: _Child) -> None:
        env = {**os.environ, **child.spec.env, "PYTHONUNBUFFERED": "1"}
        with child.log_path.open("ab") as out:
            child.proc = subprocess.Popen(
                child.spec.argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        log.info("started %s (pid %s)", child.spec.name, child.proc.pid)

    def poll(self) -> list[str]:
        """Restart children that exited (with backoff); returns lines describing what happened."""
        events = []
        now = time.monotonic()
        for child in self._children:
            if child.proc is None or child.proc.poll() is None:
                if child.proc is None and now >= child.next_start:
                    self._start(child)
                    events.append(f"{child.spec.name} restarted (#{child.restarts})")
                continue
            code = child.proc.returncode
            child.proc = None
            child.restarts += 1
            delay = min(self.max_backoff_s, 2.0 ** min(child.restarts, 6))
            child.next_start = now + delay
            events.append(
                f"{child.spec.name} exited with {code}; restarting in {delay:.0f}s (log {child.log_path})"
            )
        return events

    def running(self) -> dict[str, int | None]:
        """Name -> pid of each child (None while waiting to restart)."""
        return {
            c.spec.name: (c.proc.pid if c.proc and c.proc.poll() is None else None) for c in self._children
        }

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every child, wait, then SIGKILL what is left."""
        for child in self._children:
            if child.proc and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in self._children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs; killing it", child.spec.name, timeout_s)
                child.proc.kill()
                child.proc.wait(timeout=5)
            child.proc = None
