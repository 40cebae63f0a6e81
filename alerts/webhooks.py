"""Webhook payloads, subscription filters, and the delivery worker with retries.

Deliveries are rows of ``webhook_deliveries`` (an outbox written in the same transaction as the
alert). The :class:`DeliveryWorker` claims due rows, POSTs them concurrently with httpx (one
timeout per request), logs every attempt in ``webhook_attempts`` and reschedules failures with
exponential backoff and jitter in ``next_attempt_at`` -- so a restart resumes pending deliveries
and a receiver that is down delays nobody but itself.

Status handling: 2xx delivered; 408, 425, 429, 5xx, timeouts and network errors are retried up
to ``max_attempts``; any other 4xx fails at once (the receiver rejected the request itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from finsent.alerts.signing import DELIVERY_HEADER, EVENT_HEADER, signature_headers
from finsent.core.alerts import AlertPayload
from finsent.core.netguard import AddressPolicy, UnresolvableHostError, UnsafeURLError
from finsent.storage.alerts_repo import AlertOutbox
from finsent.storage.webhooks_repo import DeliveryRepository

__all__ = [
    "DEFAULT_EVENTS",
    "DeliveryOutcome",
    "DeliveryWorker",
    "RetryPolicy",
    "encode_body",
    "enqueue_notifications",
    "render_payload",
    "send_test",
    "subscription_matches",
]

log = logging.getLogger(__name__)
DEFAULT_EVENTS = ("opened", "updated")
_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
_RETRY_STATUS = {408, 425, 429}
USER_AGENT = "finsent-webhooks/0.1"


def subscription_matches(filters: dict[str, Any], event: str, alert: AlertPayload) -> bool:
    """Whether a subscription wants this alert event.

    Filters (all optional, all must hold): ``events`` (default opened + updated), ``rules``
    (rule ids), ``severities`` (list) or ``min_severity``, ``scopes`` (``"entity:TSLA"``,
    ``"topic:*"``, ``"all"``).
    """
    if event == "test":
        return True
    if event not in filters.get("events", DEFAULT_EVENTS):
        return False
    if "rules" in filters and alert.rule_id not in filters["rules"]:
        return False
    if "severities" in filters and alert.severity not in filters["severities"]:
        return False
    if "min_severity" in filters and _SEVERITY_RANK[alert.severity] < _SEVERITY_RANK[filters["min_severity"]]:
        return False
    if "scopes" in filters:
        kind, value = alert.scope_kind, alert.scope_value
        wanted = {str(s) for s in filters["scopes"]}
        if not wanted & {f"{kind}:{value}", f"{kind}:*", kind}:
            return False
    return True


def render_payload(fmt: str, event: str, alert: AlertPayload) -> dict[str, Any]:
    """The JSON body for a subscription's ``format``: ``json`` (full) or ``slack`` (text + blocks)."""
    if fmt == "slack":
        return _slack(event, alert)
    return {"event": event, "alert": alert.webhook_alert(), "top_articles": alert.top_articles}


def _slack(event: str, alert: AlertPayload) -> dict[str, Any]:
    icon = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}
    head = (
        f"{icon.get(alert.severity, '')} [{alert.severity}] {alert.rule_id} {event}: "
        f"{alert.scope_kind} {alert.scope_value} value {alert.value:.3g}"
        + (f" (baseline {alert.baseline:.3g})" if alert.baseline is not None else "")
    ).strip()
    lines = [
        f"• <{a['url']}|{a['title']}> ({a.get('score', 0):+.2f})" if a.get("url") else f"• {a['title']}"
        for a in alert.top_articles
    ]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    return {"text": head, "blocks": blocks}


def enqueue_notifications(outbox: AlertOutbox, alert: AlertPayload, event: str) -> int:
    """Enqueue, in the outbox's transaction, one delivery per subscription that wants this event.

    The body is rendered now, in each subscription's format, so a delivery retried later sends
    exactly what the alert was when it changed.

    Returns:
        How many deliveries were enqueued.
    """
    count = 0
    for sub in outbox.subscriptions():
        if subscription_matches(sub["filters"] or {}, event, alert):
            body = render_payload(sub["format"], event, alert)
            outbox.enqueue(subscription_id=sub["id"], alert_id=alert.id, event=event, body=body)
            count += 1
    return count


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact, key-sorted JSON."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode("utf-8")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt k waits ``base * 2**(k-1)`` capped, times U(0.5, 1)."""

    max_attempts: int = 6
    base_delay_s: float = 5.0
    max_delay_s: float = 900.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        raw = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return float(raw * (rng or random).uniform(0.5, 1.0))


@dataclass(frozen=True)
class DeliveryOutcome:
    """The result of one attempt."""

    delivery_id: int
    attempt: int
    outcome: str  # delivered | retry | failed
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass
class DeliveryWorker:
    """Sends due webhook deliveries concurrently and records every attempt.

    Blocking database work runs in threads, never on the event loop.
    """

    engine: Engine
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = 10.0
    concurrency: int = 16
    poll_s: float = 1.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)
    #: Where deliveries may go: public addresses only unless allow-listed (``alerts.webhook_allow``).
    guard: AddressPolicy = field(default_factory=AddressPolicy.for_webhooks)
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _deliveries: DeliveryRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._deliveries = DeliveryRepository(self.engine)

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery stays invisible to other workers."""
        return timedelta(seconds=2 * self.timeout_s + 30)

    async def run_once(self) -> list[DeliveryOutcome]:
        """Claim every due delivery (up to ``concurrency``), send them concurrently, wait for all."""
        rows = await asyncio.to_thread(self._claim, self.concurrency)
        if not rows:
            return []
        async with self._session():
            return list(await asyncio.gather(*(self._deliver(r) for r in rows)))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; each delivery is its own task, so a slow receiver
        holds one slot, never the loop."""
        inflight: set[asyncio.Task[DeliveryOutcome]] = set()
        async with self._session():
            while not stop.is_set():
                free = self.concurrency - len(inflight)
                rows = await asyncio.to_thread(self._claim, free) if free > 0 else []
                for row in rows:
                    task = asyncio.create_task(self._deliver(row))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
                if not rows:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll_s)
            if inflight:
                await asyncio.wait(inflight, timeout=self.timeout_s + 5)

    def _session(self) -> _ClientSession:
        return _ClientSession(self)

    def _claim(self, limit: int) -> list[dict[str, Any]]:
        return self._deliveries.claim_due(now=self.clock(), limit=limit, lease=self.lease)

    async def _deliver(self, row: dict[str, Any]) -> DeliveryOutcome:
        attempt = int(row["attempts"]) + 1
        body = encode_body(row["payload"])
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: str(row["id"]),
            EVENT_HEADER: row["event"],
            **signature_headers(row["secret"], body),
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        blocked = False
        try:
            assert self._client is not None
            # Checked at every attempt (DNS may have changed since the subscription); redirects
            # are never followed, so a 3xx pointing inside goes nowhere.
            await asyncio.to_thread(self.guard.check_url, row["url"])
            response = await self._client.post(row["url"], content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}: {response.text[:200]}"
        except UnsafeURLError as exc:
            error, blocked = str(exc)[:500], True
        except (httpx.HTTPError, UnresolvableHostError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        duration_ms = (time.perf_counter() - started) * 1000
        outcome = "failed" if blocked else self._outcome(status, attempt)
        result = DeliveryOutcome(int(row["id"]), attempt, outcome, status, error, duration_ms)
        await asyncio.to_thread(self._record, result)
        if outcome != "delivered":
            log.warning(
                "webhook %s attempt %d to %s: %s -> %s", row["id"], attempt, row["url"], error, outcome
            )
        return result

    def _outcome(self, status: int | None, attempt: int) -> str:
        if status is not None and 200 <= status < 300:
            return "delivered"
        permanent = status is not None and 400 <= status < 500 and status not in _RETRY_STATUS
        return "failed" if permanent or attempt >= self.policy.max_attempts else "retry"

    def _record(self, result: DeliveryOutcome) -> None:
        now = self.clock()
        next_at = now + timedelta(seconds=self.policy.delay(result.attempt, self.rng))
        self._deliveries.record_attempt(
            result.delivery_id,
            attempt=result.attempt,
            at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            outcome=result.outcome,
            next_attempt_at=next_at,
        )


class _ClientSession:
    """Opens the worker's httpx client for the duration of a run (re-entrant per worker)."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.owner = False

    async def __aenter__(self) -> None:
        if self.worker._client is None:
            limits = httpx.Limits(max_connections=self.worker.concurrency)
            self.worker._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.worker.timeout_s), limits=limits, follow_redirects=False
            )
            self.owner = True

    async def __aexit__(self, *exc: object) -> None:
        if self.owner and self.worker._client is not None:
            await self.worker._client.aclose()
            self.worker._client = None


def send_test(
    url: str,
    secret: str,
    *,
    fmt: str = "json",
    timeout_s: float = 10.0,
    guard: AddressPolicy | None = None,
) -> httpx.Response:
    """POST one signed ``test`` event to ``url`` synchronously (``finsent alerts test-webhook``).

    Args:
        url: The receiver.
        secret: Signing secret.
        fmt: ``json`` or ``slack``.
        timeout_s: Request timeout.
        guard: Where requests may go (default: the webhook policy, public addresses only).

    Raises:
        UnsafeURLError: the URL is refused by ``guard``.
        httpx.HTTPError: the request failed (connection refused, timeout, ...).
    """
    (guard or AddressPolicy.for_webhooks()).check_url(url)
    now = datetime.now(UTC)
    alert = AlertPayload(
        id=0,
        rule_id="test",
        kind="test",
        scope_kind="all",
        scope_value="all",
        severity="info",
        status="open",
        opened_at=now,
        window_start=now,
        window_end=now,
        value=0.0,
        details={"message": "finsent test webhook"},
    )
    body = encode_body(render_payload(fmt, "test", alert))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: "test",
        DELIVERY_HEADER: "test",
        **signature_headers(secret, body),
    }
    with httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False) as client:
        return client.post(url, content=body, headers=headers)
