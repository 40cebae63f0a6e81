"""The state file ``<data_dir>/state.json``: what `finsent up` started, where, and as which pid."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finsent.runtime.exceptions import DataDirError

__all__ = ["STATE_VERSION", "ServiceRecord", "StackState", "state_lock", "state_path"]

STATE_VERSION = 1


@dataclass
class ServiceRecord:
    """One running embedded service.

    Attributes:
        name: ``"postgres"`` or ``"kafka"``.
        pid: pid of the server process.
        create_time: the process's creation time (detects a recycled pid).
        port: TCP port on 127.0.0.1.
        url: how clients reach it (SQLAlchemy URL or bootstrap ``host:port``).
        log: path of its log file.
        started_at: ISO timestamp (UTC).
    """

    name: str
    pid: int
    create_time: float | None
    port: int
    url: str
    log: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass
class StackState:
    """Contents of the state file."""

    services: dict[str, ServiceRecord] = field(default_factory=dict)
    version: int = STATE_VERSION

    @classmethod
    def read(cls, data_dir: Path) -> StackState:
        """Read the state file; a missing or unreadable file gives an empty state."""
        path = state_path(data_dir)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            services = {name: ServiceRecord(**rec) for name, rec in dict(raw.get("services", {})).items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()
        return cls(services=services, version=int(raw.get("version", STATE_VERSION)))

    def write(self, data_dir: Path) -> None:
        """Write the state atomically (temp file + rename); remove it when nothing runs."""
        path = state_path(data_dir)
        if not self.services:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "version": self.version,
            "services": {name: asdict(rec) for name, rec in self.services.items()},
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def state_path(data_dir: Path) -> Path:
    """Path of the state file under ``data_dir``."""
    return data_dir / "state.json"


@contextlib.contextmanager
def state_lock(data_dir: Path) -> Iterator[None]:
    """Exclusive lock so two `finsent up`/`down` on one data dir do not race.

    Raises:
        DataDirError: the data directory cannot be created or written.
    """
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lock_file = (data_dir / ".state.lock").open("a+")
    except OSError as exc:
        raise DataDirError(
            f"data dir {data_dir} is not writable ({exc.strerror or exc}): "
            "set FINSENT_DATA_DIR to a writable directory"
        ) from exc
    with lock_file as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
