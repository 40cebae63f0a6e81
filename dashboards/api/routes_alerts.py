"""Alerts (list, acknowledge) and webhook subscriptions (list, create, delete)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from finsent.core.alerts import AlertPayload
from finsent.core.netguard import UnresolvableHostError, UnsafeURLError
from finsent.dashboards.api import writes
from finsent.dashboards.api.deps import Conn, Range, ReadAuth, WriteAuth, field_error, get_state
from finsent.dashboards.api.schemas import AckIn, AlertOut, AlertPage, WebhookCreated, WebhookIn, WebhookOut
from finsent.storage import alerts_repo, webhooks_repo

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["alerts"])

#: The sort whitelist of ``storage.alerts_repo.ALERT_SORTS`` (a unit test keeps them equal).
AlertSort = Literal["-opened_at", "opened_at", "-updated_at", "-value"]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/alerts", response_model=AlertPage, dependencies=[ReadAuth], summary="Alert episodes")
def list_alerts(
    conn: Conn,
    rng: Range,
    status: Annotated[Literal["open", "acknowledged", "resolved"] | None, Query()] = None,
    severity: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
    scope_kind: Annotated[Literal["topic", "entity", "source", "all"] | None, Query()] = None,
    scope_value: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    rule_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    sort: Annotated[AlertSort, Query()] = "-opened_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """Alerts, newest first; ``start``/``end`` select episodes overlapping the range."""
    flt = alerts_repo.AlertFilter(
        status=status,
        severity=severity,
        scope_kind=scope_kind,
        scope_value=scope_value,
        rule_id=rule_id,
        start=rng.start,
        end=rng.end,
    )
    page = alerts_repo.alert_page(conn, flt, sort=sort, limit=limit, offset=offset)
    nxt = page.offset + len(page.items)
    return {**page.__dict__, "next_offset": nxt if page.items and nxt < page.total else None}


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=AlertOut,
    dependencies=[WriteAuth],
    summary="Acknowledge an alert",
    responses={404: {"description": "No such alert"}},
)
def ack_alert(conn: Conn, alert_id: AlertId, body: AckIn | None = None) -> AlertPayload:
    """Acknowledge an alert (idempotent; a resolved alert keeps its status, the ack is recorded)."""
    by = body.by if body is not None else "api"
    alert = writes.acknowledge_alert(conn, alert_id, by)
    if alert is None:
        raise HTTPException(status_code=404, detail=f"no alert {alert_id}")
    return alert


@router.get(
    "/webhooks",
    response_model=list[WebhookOut],
    dependencies=[WriteAuth],
    summary="Webhook subscriptions (token required: URLs may carry secrets)",
)
def list_webhooks(conn: Conn) -> list[dict[str, Any]]:
    """Every subscription; signing secrets are never listed."""
    return webhooks_repo.list_webhooks(conn)


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    dependencies=[WriteAuth],
    summary="Subscribe a webhook to alerts",
)
def create_webhook(request: Request, conn: Conn, body: WebhookIn) -> dict[str, Any]:
    """Store a subscription; the answer carries the signing secret (shown only here).

    The URL must be http(s) without credentials and resolve to public addresses only (or be in
    ``alerts.webhook_allow``): a subscription must not make finsent call its own network.
    """
    try:
        get_state(request).webhook_guard.check_url(str(body.url))
    except UnresolvableHostError:
        pass  # DNS may be down for now; every delivery attempt checks the address again
    except UnsafeURLError as exc:
        raise field_error("body", "url", str(exc)) from None
    return writes.create_webhook(
        conn,
        url=str(body.url),
        secret=body.secret,
        fmt=body.format,
        filters=body.filters.model_dump(exclude_none=True),
        active=body.active,
    )


@router.delete(
    "/webhooks/{sub_id}",
    status_code=204,
    dependencies=[WriteAuth],
    summary="Delete a webhook subscription",
    responses={404: {"description": "No such subscription"}},
)
def delete_webhook(conn: Conn, sub_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
    """Delete a subscription and its delivery log."""
    if not writes.delete_webhook(conn, sub_id):
        raise HTTPException(status_code=404, detail=f"no webhook subscription {sub_id}")
    return Response(status_code=204)
