"""The state file ``<data_dir>/state.json``: what `finsent up` started, where, and as which pid.

Every record is also kept in its own pid file ``<data_dir>/run/<name>.json``, which outlives the
service: it is how a restarted service gets the port it had (clients keep their address), and how
running services are found again when ``state.json`` is damaged (truncated, hand-edited), so a
damaged state file never leads to a second broker next to an orphaned first one.
"""

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

__all__ = [
    "STATE_VERSION",
    "ServiceRecord",
    "StackState",
    "last_records",
    "record_path",
    "state_lock",
    "state_path",
]

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
    #: Why the state file could not be used as it was (None when it was fine or absent).
    problem: str | None = field(default=None, compare=False)
    #: Services not in the state file but found running from their pid files.
    adopted: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def read(cls, data_dir: Path) -> StackState:
        """Read the state file; a damaged one is rebuilt from the pid files of live services.

        A missing file gives the services whose pid file names a live process (none after
        `finsent down`). A damaged file gives the same, and :attr:`problem` says what was wrong
        (callers print it once).
        """
        path = state_path(data_dir)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            live = _live_records(data_dir)
            return cls(services=live, adopted=tuple(live))
        except OSError as exc:
            return cls._recovered(data_dir, f"cannot read {path} ({exc.strerror or exc})")
        try:
            raw = json.loads(text)
            services = {name: ServiceRecord(**rec) for name, rec in dict(raw.get("services", {})).items()}
            return cls(services=services, version=int(raw.get("version", STATE_VERSION)))
        except (ValueError, TypeError, AttributeError) as exc:
            return cls._recovered(data_dir, f"{path} is damaged ({type(exc).__name__})")

    @classmethod
    def _recovered(cls, data_dir: Path, why: str) -> StackState:
        live = _live_records(data_dir)
        found = ", ".join(f"{n} pid {r.pid} port {r.port}" for n, r in live.items()) or "none running"
        return cls(
            services=live, problem=f"{why}; services found from pid files: {found}", adopted=tuple(live)
        )

    def write(self, data_dir: Path) -> None:
        """Write the state atomically (temp file + rename); remove it when nothing runs.

        Each record is also written to its pid file (kept after the service stops: it remembers
        the port).
        """
        path = state_path(data_dir)
        for rec in self.services.values():
            _atomic_write(record_path(data_dir, rec.name), json.dumps(asdict(rec), indent=2) + "\n")
        if not self.services:
            path.unlink(missing_ok=True)
            return
        payload: dict[str, Any] = {
            "version": self.version,
            "services": {name: asdict(rec) for name, rec in self.services.items()},
        }
        _atomic_write(path, json.dumps(payload, indent=2) + "\n")


def _live_records(data_dir: Path) -> dict[str, ServiceRecord]:
    from finsent.runtime.processes import pid_alive  # processes does not import us; no cycle

    return {n: r for n, r in last_records(data_dir).items() if pid_alive(r.pid, r.create_time)}


def _atomic_write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)


def record_path(data_dir: Path, name: str) -> Path:
    """The pid file of service ``name`` (``<data_dir>/run/<name>.json``)."""
    return data_dir / "run" / f"{name}.json"


def last_records(data_dir: Path) -> dict[str, ServiceRecord]:
    """The last record of every service ever started on ``data_dir``, live or not (from pid files)."""
    records: dict[str, ServiceRecord] = {}
    for name in ("postgres", "kafka"):
        try:
            raw = json.loads(record_path(data_dir, name).read_text(encoding="utf-8"))
            records[name] = ServiceRecord(**raw)
        except (OSError, ValueError, TypeError):
            continue
    return records


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
