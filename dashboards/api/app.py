"""The FastAPI application: API routers, health and metrics, and the live page at ``/``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from finsent.core.errors import ConfigError
from finsent.core.netguard import AddressPolicy
from finsent.core.settings import Settings
from finsent.dashboards.api import (
    health,
    routes_alerts,
    routes_articles,
    routes_entities,
    routes_explain,
    routes_labels,
)
from finsent.dashboards.api.deps import ApiState
from finsent.dashboards.api.guards import AuthFailureLimiter, InputGuard, validation_error_handler

__all__ = ["WEB_DIR", "create_app"]

#: Static files of the live page (HTML, JS, CSS and the vendored charting library).
WEB_DIR = Path(__file__).resolve().parent.parent / "web"

_DESCRIPTION = """finsent's HTTP API: scored financial news, sentiment/volume time series, alerts,
webhook subscriptions, the labelling queue and the model registry. Write endpoints need
`Authorization: Bearer <FINSENT_API__TOKEN>`. The live dashboard is served at `/`."""


def _topic_labels() -> tuple[str, ...]:
    from finsent.models.labels import TOPIC_LABELS

    return tuple(TOPIC_LABELS)


def create_app(
    settings: Settings,
    engine: Engine,
    *,
    kafka_bootstrap: str | None = None,
    broker_probe: Callable[[str], bool] | None = None,
    protect_reads: bool = False,
) -> FastAPI:
    """Build the API and live page.

    Args:
        settings: finsent settings; ``api.token`` must be set (write endpoints check it).
        engine: SQLAlchemy engine on the migrated finsent schema.
        kafka_bootstrap: broker address for ``/healthz`` (default ``settings.kafka_bootstrap``;
            the CLI passes the embedded broker's address in embedded mode).
        broker_probe: ``probe(bootstrap) -> bool`` used by ``/healthz`` (default: a TCP connect
            with a timeout); answers are cached for 10 s.
        protect_reads: require the bearer token on read endpoints too.

    Raises:
        ConfigError: ``settings.api.token`` is missing or empty.
    """
    token = settings.api.token.get_secret_value() if settings.api.token is not None else ""
    if not token.strip():
        raise ConfigError("FINSENT_API__TOKEN (api.token) must be set: write endpoints need a bearer token")
    app = FastAPI(title="finsent", version="0.1.0", description=_DESCRIPTION)
    app.state.finsent = ApiState(
        engine=engine,
        api_token=token,
        kafka_bootstrap=kafka_bootstrap or settings.kafka_bootstrap,
        broker_probe=health.CachedProbe(broker_probe or health.tcp_probe),
        topic_labels=_topic_labels(),
        protect_reads=protect_reads,
        webhook_guard=AddressPolicy.for_webhooks(settings.alerts.webhook_allow),
        auth_limiter=AuthFailureLimiter(settings.api.auth_failures_per_minute),
    )
    app.state.metrics = health.ApiMetrics(engine)
    app.state.explainer = routes_explain.ExplainerCache(
        device=settings.models.device,
        cpu_backend=settings.models.cpu_backend,
        max_length=settings.models.max_length,
    )
    routers = (
        routes_articles.router,
        routes_explain.router,
        routes_entities.router,
        routes_alerts.router,
        routes_labels.router,
    )
    for router in (*routers, health.router):
        app.include_router(router)
    _mount_web(app)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    # Added first, so it runs inside the counter: its 413/422 answers are counted too.
    app.add_middleware(InputGuard, max_body_bytes=settings.api.max_body_bytes)
    app.middleware("http")(_count_requests)
    return app


async def _count_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    status = 500  # an exception escaping the app becomes a 500: count it as one
    try:
        response = await call_next(request)
        status = response.status_code
    finally:
        route = request.scope.get("route")
        # The route template, not the raw path: ids in paths would explode label cardinality.
        name = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        request.app.state.metrics.observe(request.method, name, status, elapsed)
    return response


def _mount_web(app: FastAPI) -> None:
    index = WEB_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    def live_page() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
