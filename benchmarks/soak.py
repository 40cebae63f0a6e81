"""`finsent bench soak`: the real embedded stack under seeded random faults, then the consistency checks.

A private data dir gets `finsent up`; a crawler on the demo feed (with planted negative bursts so
alerts fire), one scoring worker and the alerts service run as real `finsent` processes, each kept
alive by :class:`finsent.runtime.supervisor.Supervisor` as `finsent run` does; a local receiver
takes the webhooks. At seeded random times the soak SIGKILLs the worker, the crawler or the
alerts service (the supervisor restarts them), SIGKILLs PostgreSQL and brings it back with
`finsent up`, or stops the broker (memory lost) and brings it back with `finsent up`. Then the
crawler is stopped, reconciliation passes run (`finsent reconcile`, as an operator's cron or the
crawler's own schedule would) until every article is scored, and :mod:`benchmarks.soak_checks`
decides. A benchmark, not a test: it prints a table and writes JSON.
"""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.soak_checks import Check, run_checks, scoring_settled
from finsent.runtime.processes import pid_alive
from finsent.runtime.state import StackState
from finsent.runtime.supervisor import ChildSpec, Supervisor, finsent_argv
from finsent.storage.db import make_engine
from tests.support.webhook_receiver import WebhookReceiver

__all__ = [
    "KINDS",
    "Fault",
    "SoakConfig",
    "SoakResult",
    "cpu_name",
    "format_table",
    "plan_faults",
    "run_soak",
]

#: Every kind of fault, in table order.
KINDS = ("worker", "postgres", "broker", "crawler", "alerts")
_SECRET = "soak-secret"


@dataclass(frozen=True)
class SoakConfig:
    """What to run.

    Attributes:
        minutes: Length of the fault period.
        faults: Faults injected over it (spread over all kinds).
        seed: Seeds the fault times and kinds (and the demo feed).
        demo_rate: Demo items per minute.
        data_dir: Where the stack lives (a fresh dir; kept for inspection).
        grace_s: Reconciliation grace of the crawler and of the final passes.
        settle_timeout_s: Longest wait for quiescence after the fault period.
    """

    minutes: float
    faults: int
    seed: int
    demo_rate: float
    data_dir: Path
    grace_s: float = 60.0
    settle_timeout_s: float = 600.0


@dataclass
class Fault:
    """One injected fault."""

    at_s: float
    kind: str
    detail: str = ""

    @property
    def effective(self) -> bool:
        """False when the target was already down (restarting), so nothing was injected."""
        return not self.detail.startswith(("was restarting", "not running"))


@dataclass
class SoakResult:
    """Everything the soak measured."""

    config: dict[str, Any]
    faults: list[Fault] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    settle_s: float = 0.0
    reconcile: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "config": self.config,
            "cpu": cpu_name(),
            "faults": [asdict(f) | {"effective": f.effective} for f in self.faults],
            "faults_by_kind": {k: sum(1 for f in self.faults if f.kind == k) for k in KINDS},
            "checks": [c.as_dict() for c in self.checks],
            "settle_s": round(self.settle_s, 1),
            "reconcile": self.reconcile,
            "ok": self.ok,
        }


def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def plan_faults(seed: int, minutes: float, count: int) -> list[tuple[float, str]]:
    """``count`` (time, kind) pairs over the fault period, every kind as often as the others (+-1).

    Times are uniform in ``[30 s, end - 30 s]`` and at least 8 s apart, so each fault meets a
    stack that has started recovering from the previous one (never two at the same instant).
    """
    rng = random.Random(seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    end = minutes * 60.0
    lo, hi = min(30.0, end / 4), max(end - 30.0, end * 3 / 4)
    times = sorted(rng.uniform(lo, hi) for _ in kinds)
    spaced: list[float] = []
    for t in times:
        spaced.append(max(t, spaced[-1] + 8.0) if spaced else t)
    return list(zip(spaced, kinds, strict=True))


class _Stack:
    """The soak's processes: `finsent` CLI calls and the supervised services."""

    def __init__(self, config: SoakConfig, receiver: WebhookReceiver) -> None:
        self.config = config
        self.data_dir = config.data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FINSENT_")} | {
            "FINSENT_DATA_DIR": str(self.data_dir),
            "FINSENT_KAFKA__TOPIC_PARTITIONS": "2",
            "FINSENT_STREAM__METRICS_PORT": "0",
            "FINSENT_INGEST__METRICS_PORT": "0",
            "FINSENT_INGEST__RECONCILE_GRACE": f"{config.grace_s:g}s",
            "FINSENT_INGEST__RECONCILE_INTERVAL": "15s",
            "FINSENT_ALERTS__WEBHOOK_ALLOW": json.dumps(["127.0.0.1"]),
            "HF_HUB_OFFLINE": "1",
        }
        self.receiver = receiver
        os.environ.update(self.env)  # the Supervisor passes os.environ to its children
        for key in [k for k in os.environ if k.startswith("FINSENT_") and k not in self.env]:
            del os.environ[key]
        logs = self.data_dir / "logs"
        self.crawl = Supervisor(logs, max_backoff_s=3.0)
        self.services = Supervisor(logs, max_backoff_s=3.0)

    def cli(self, *args: str, timeout_s: float = 300.0) -> str:
        done = subprocess.run(
            finsent_argv(*args), env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"finsent {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout

    def start(self) -> None:
        self.cli("up")
        self.cli("alerts", "subscribe", self.receiver.url, "--secret", _SECRET)
        c = self.config
        events = ["--event", "ACMR,+1m,3m,negative", "--event", "BLRX,+5m,3m,negative"]
        crawl = ["crawl", "--demo", "--demo-rate", f"{c.demo_rate:g}", "--seed", str(c.seed), *events]
        self.crawl.add(ChildSpec("crawler", finsent_argv(*crawl)))
        worker = ["worker", "--batch-size", "32", "--batch-window", "200ms", "--session-timeout", "6s"]
        self.services.add(ChildSpec("worker", finsent_argv(*worker)))
        alerts = ["alerts", "run", "--grace", "20s", "--interval", "5s", "--catch-up-hours", "1"]
        self.services.add(ChildSpec("alerts", finsent_argv(*alerts)))

    def poll(self) -> None:
        self.crawl.poll()
        self.services.poll()

    def pid(self, name: str) -> int | None:
        running = {**self.crawl.running(), **self.services.running()}
        return running.get(name)

    def inject(self, kind: str, rng: random.Random) -> str:
        if kind in ("worker", "crawler", "alerts"):
            pid = self.pid(kind)
            if pid is None:
                return "was restarting; nothing to kill"
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while self.pid(kind) == pid and time.monotonic() < deadline:
                self.poll()  # reaps it and schedules the restart
                time.sleep(0.05)
            return f"SIGKILL pid {pid}; supervisor restarts it"
        name = "postgres" if kind == "postgres" else "kafka"
        rec = StackState.read(self.data_dir).services.get(name)
        if rec is None:
            return "not running"
        os.kill(rec.pid, signal.SIGKILL if kind == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + 20
        while pid_alive(rec.pid, rec.create_time) and time.monotonic() < deadline:
            time.sleep(0.1)
        down_s = rng.uniform(2.0, 8.0)
        self._sleep_polling(down_s)
        self.cli("up")
        how = "SIGKILL" if kind == "postgres" else "SIGTERM (memory lost)"
        return f"{how} pid {rec.pid}, down {down_s:.1f}s, `finsent up`"

    def _sleep_polling(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.poll()
            time.sleep(0.25)

    def stop(self) -> None:
        self.crawl.stop()
        self.services.stop()


def run_soak(config: SoakConfig, *, log: Any = print) -> SoakResult:
    """Run the soak (minutes of faults, then quiescence and checks).

    Args:
        config: What to run.
        log: Receives progress lines.
    """
    config.data_dir.mkdir(parents=True, exist_ok=True)
    plan = plan_faults(config.seed, config.minutes, config.faults)
    result = SoakResult(config={k: str(v) for k, v in asdict(config).items()})
    rng = random.Random(config.seed + 1)
    with WebhookReceiver(secret=_SECRET) as receiver:
        stack = _Stack(config, receiver)
        stack.start()
        started = time.monotonic()
        try:
            ready_at = 0.0
            for at_s, kind in plan:
                # a slow recovery (e.g. `finsent up`) shifts the rest: 5 s between faults at least
                while time.monotonic() - started < max(at_s, ready_at):
                    stack.poll()
                    time.sleep(0.25)
                fault = Fault(round(time.monotonic() - started, 1), kind)
                fault.detail = stack.inject(kind, rng)
                log(f"[{fault.at_s:7.1f}s] {kind:<8} {fault.detail}")
                result.faults.append(fault)
                ready_at = time.monotonic() - started + 5.0
            stack._sleep_polling(max(0.0, config.minutes * 60 - (time.monotonic() - started)))
            result.settle_s, result.reconcile = _settle(stack, config, log)
        finally:
            stack.stop()
        engine = make_engine(StackState.read(config.data_dir).services["postgres"].url, pool_size=1)
        try:
            result.checks = run_checks(
                engine, demo_seed=config.seed, demo_rate=config.demo_rate, received=len(receiver.requests)
            )
        finally:
            engine.dispose()
    stack.cli("down")
    return result


def _settle(stack: _Stack, config: SoakConfig, log: Any) -> tuple[float, list[str]]:
    """Stop the crawler, then reconcile until every article is scored and no delivery is pending."""
    stack.crawl.stop()  # SIGTERM: polls finish, the outbox is drained
    began = time.monotonic()
    lines: list[str] = []
    engine = make_engine(StackState.read(config.data_dir).services["postgres"].url, pool_size=1)
    try:
        next_pass = began + config.grace_s
        while time.monotonic() - began < config.settle_timeout_s:
            stack.services.poll()
            done, status = scoring_settled(engine)
            if done and _deliveries_idle(engine):
                log(f"quiet after {time.monotonic() - began:.0f}s: {status}")
                return time.monotonic() - began, lines
            if time.monotonic() >= next_pass:
                line = stack.cli("reconcile", "--grace", f"{config.grace_s:g}s").strip()
                lines.append(line)
                log(f"[settle] {status}; {line}")
                next_pass = time.monotonic() + 15.0
            time.sleep(1.0)
        log(f"not quiet after {config.settle_timeout_s:.0f}s: {scoring_settled(engine)[1]}")
        return time.monotonic() - began, lines
    finally:
        engine.dispose()


def _deliveries_idle(engine: Any) -> bool:
    from sqlalchemy import text

    with engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT count(*) = 0 FROM webhook_deliveries WHERE status = 'pending'")
            ).scalar_one()
        )


def format_table(result: SoakResult) -> list[str]:
    """The faults and checks as plain text lines (one table each)."""
    lines = ["faults injected", f"  {'kind':<10}{'count':>6}{'no-op':>7}  first/last at (s)"]
    for kind in KINDS:
        times = [f.at_s for f in result.faults if f.kind == kind]
        idle = sum(1 for f in result.faults if f.kind == kind and not f.effective)
        span = f"{times[0]:.0f} / {times[-1]:.0f}" if times else "-"
        lines.append(f"  {kind:<10}{len(times):>6}{idle:>7}  {span}")
    idle = sum(1 for f in result.faults if not f.effective)
    lines.append(f"  {'total':<10}{len(result.faults):>6}{idle:>7}  (no-op: the target was already down)")
    lines.append(f"checks (quiet {result.settle_s:.0f}s after the fault period)")
    for check in result.checks:
        lines.append(f"  {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    lines.append(f"python {sys.version.split()[0]} on {cpu_name()} ({os.cpu_count()} cores)")
    return lines
