"""``/healthz`` (database, broker, production model) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from finsent.dashboards.api.deps import ApiState, get_state
from finsent.dashboards.api.schemas import CheckOut, HealthOut
from finsent.storage import model_versions
from finsent.storage.aggregate_queries import read_pipeline_counts
from finsent.stream.kafka import tcp_reachable

__all__ = ["ApiMetrics", "CachedProbe", "router", "tcp_probe"]

router = APIRouter(tags=["health"])

BROKER_TIMEOUT_S = 2.0


def tcp_probe(bootstrap: str, timeout_s: float = BROKER_TIMEOUT_S) -> bool:
    """True if any ``host:port`` of ``bootstrap`` accepts a TCP connection within the timeout."""
    return tcp_reachable(bootstrap, timeout_s)


class CachedProbe:
    """Remembers a broker probe's answer for ``ttl_s`` so polling pages cost one probe per TTL."""

    def __init__(self, probe: Callable[[str], bool], ttl_s: float = 10.0) -> None:
        self._probe, self._ttl_s = probe, ttl_s
        self._lock = threading.Lock()
        self._last: tuple[str, float, bool] | None = None

    def __call__(self, bootstrap: str) -> bool:
        """The cached answer for ``bootstrap``, probing again once it is older than the TTL."""
        with self._lock:
            now = time.monotonic()
            if self._last is not None and self._last[0] == bootstrap and now - self._last[1] < self._ttl_s:
                return self._last[2]
            ok = bool(self._probe(bootstrap))
            self._last = (bootstrap, now, ok)
            return ok


def _check_database(state: ApiState) -> tuple[CheckOut, dict[str, Any] | None]:
    started = time.perf_counter()
    try:
        counts = read_pipeline_counts(state.engine)
    except Exception as exc:  # any driver error means "database down" here
        return CheckOut(ok=False, detail=f"{type(exc).__name__}: {str(exc)[:200]}"), None
    ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckOut(ok=True, detail="reachable", info={"latency_ms": ms}), counts


def _check_broker(state: ApiState) -> CheckOut:
    if not state.kafka_bootstrap:
        return CheckOut(ok=False, detail="no broker configured (is the embedded stack up?)")
    ok = bool(state.broker_probe(state.kafka_bootstrap))
    detail = "reachable" if ok else "unreachable"
    return CheckOut(ok=ok, detail=detail, info={"bootstrap": state.kafka_bootstrap})


def _check_model(counts: dict[str, Any] | None) -> CheckOut:
    if counts is None:
        return CheckOut(ok=False, detail="unknown: database unreachable")
    version = counts["production_version"]
    info = {"production_version": version, "last_scored_at": counts["last_scored_at"]}
    if version is None:
        return CheckOut(ok=False, detail="no production model registered", info=info)
    return CheckOut(ok=True, detail=f"production model {version} registered", info=info)


def _model_path_check(state: ApiState, check: CheckOut) -> CheckOut:
    version = check.info.get("production_version")
    if not check.ok or version is None:
        return check
    try:
        with state.engine.connect() as conn:
            production = model_versions.production_version(conn)
    except Exception as exc:  # the database check reports the cause
        return CheckOut(ok=False, detail=f"registry unreadable: {type(exc).__name__}", info=check.info)
    path = Path(production["path"]) if production else None
    present = path is not None and path.is_dir()
    info = {**check.info, "path": str(path), "path_exists": present}
    if not present:
        return CheckOut(ok=False, detail=f"model directory {path} missing on this host", info=info)
    return CheckOut(ok=True, detail=check.detail + ", files present", info=info)


@router.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def healthz(request: Request, response: Response) -> HealthOut:
    """Database reachable, broker reachable, a production model registered with its files present."""
    state = get_state(request)
    database, counts = _check_database(state)
    checks = {
        "database": database,
        "broker": _check_broker(state),
        "model": _model_path_check(state, _check_model(counts)),
    }
    healthy = all(c.ok for c in checks.values())
    response.status_code = 200 if healthy else 503
    return HealthOut(status="ok" if healthy else "degraded", checks=checks)


class _PipelineCollector(Collector):
    """Gauges read from the database at scrape time (one small query)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("finsent_api_database_up", "1 if the API reached PostgreSQL at scrape.")
        try:
            counts = read_pipeline_counts(self._engine)
        except Exception:  # a scrape must not fail because the database is down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, key, doc in (
            ("finsent_articles", "articles", "Articles stored."),
            ("finsent_scores", "scores", "Scores stored (all model versions)."),
            ("finsent_open_alerts", "open_alerts", "Alerts in status open."),
            ("finsent_dead_letters", "dead_letters", "Rows in dead_letters."),
        ):
            yield GaugeMetricFamily(name, doc, value=float(counts[key]))
        last = counts["last_scored_at"]
        if last is not None:
            yield GaugeMetricFamily(
                "finsent_last_scored_timestamp_seconds",
                "When the newest score was written.",
                value=last.timestamp(),
            )


class ApiMetrics:
    """The API's own Prometheus registry (one per app, so several apps can live in one process)."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "finsent_api_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "finsent_api_request_duration_seconds",
            "Time to answer a request.",
            ["route"],
            registry=self.registry,
        )
        self.registry.register(_PipelineCollector(engine))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def metrics(request: Request) -> Response:
    """Request counters and latencies, plus pipeline gauges read from the database."""
    registry: ApiMetrics = request.app.state.metrics
    return Response(content=registry.render(), media_type=CONTENT_TYPE_LATEST)
