"""`finsent alerts ...` and `finsent rules check`: alerts, acknowledgements, webhooks, the service."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from finsent.cli.common import as_duration, console, err_console
from finsent.cli.context import current
from finsent.core.errors import FinsentError, RetryableError
from finsent.core.settings import Settings

__all__ = ["register"]

log = logging.getLogger(__name__)
alerts_app = typer.Typer(
    help="Alerts: list, acknowledge, webhooks, the alerting service.", no_args_is_help=True
)
rules_app = typer.Typer(help="Alert rule files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(rules_app, name="rules")


def _topic_labels() -> tuple[str, ...]:
    from finsent.models import TOPIC_LABELS

    return tuple(TOPIC_LABELS)


@rules_app.command("check")
def rules_check(path: Path = typer.Argument(..., help="YAML rule file to validate.")) -> None:
    """Validate a rule file; exit 1 naming the rule and field of every problem."""
    from finsent.alerts.exceptions import RuleFileError
    from finsent.alerts.rules import load_rules

    try:
        rules = load_rules(path, topic_labels=_topic_labels())
    except RuleFileError as exc:
        # The verdict of a check command, not a failure of it: exit 1 = "the file is invalid".
        err_console.print(f"invalid: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    for rule in rules.rules:
        scope = f"{rule.scope.kind}:{rule.scope.value}"
        state = "" if rule.enabled else " (disabled)"
        console.print(f"[green]ok[/green] {rule.id}: {rule.kind} on {scope}, window {rule.window}{state}")
    console.print(f"{len(rules.rules)} rules valid in {path}")


@alerts_app.command("list")
def alerts_list(
    status: str | None = typer.Option(None, help="open | acknowledged | resolved"),
    limit: int = typer.Option(50, min=1, help="Most alerts shown."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Alerts newest first, with the state of their webhook deliveries (failed ones flagged)."""
    from finsent.storage import alerts_repo, webhooks_repo

    with current().engine.connect() as conn:
        rows = alerts_repo.list_alerts(conn, status=status, limit=limit)
        failed = webhooks_repo.list_deliveries(conn, status="failed", limit=limit)
    if as_json:
        console.print_json(json.dumps({"alerts": rows, "failed_deliveries": failed}, default=str))
        return
    table = Table("id", "opened", "rule", "scope", "severity", "status", "value", "baseline", "deliveries")
    for a in rows:
        deliveries = ", ".join(f"{k}:{v}" for k, v in sorted(a["deliveries"].items())) or "-"
        if "failed" in a["deliveries"]:
            deliveries = f"[red]{deliveries}[/red]"
        baseline = "-" if a["baseline"] is None else f"{a['baseline']:.3g}"
        opened, scope, value = (
            f"{a['opened_at']:%Y-%m-%d %H:%M}",
            f"{a['scope_kind']}:{a['scope_value']}",
            f"{a['value']:.3g}",
        )
        table.add_row(
            str(a["id"]), opened, a["rule_id"], scope, a["severity"], a["status"], value, baseline, deliveries
        )
    console.print(table)
    for d in failed:
        where = f"{d['id']} of alert {d['alert_id']} to {d['url']}"
        console.print(f"[red]failed delivery[/red] {where} after {d['attempts']} attempts: {d['last_error']}")


@alerts_app.command("ack")
def alerts_ack(
    alert_id: int = typer.Argument(..., help="Alert id (see `finsent alerts list`)."),
    by: str = typer.Option("cli", help="Who acknowledges."),
) -> None:
    """Acknowledge an alert: no more update notifications for this episode."""
    from finsent.storage import alerts_repo

    app = current()
    with app.engine.begin() as conn:
        row = alerts_repo.acknowledge_alert(conn, alert_id, by, datetime.now(UTC))
    if row is None:
        raise FinsentError(f"no alert with id {alert_id}")
    _publish_ack(app.settings, row)
    console.print(
        f"alert {alert_id} ({row['rule_id']} {row['scope_kind']}:{row['scope_value']}) is {row['status']}"
    )


def _publish_ack(settings: Settings, row: dict[str, Any]) -> None:
    if settings.kafka_bootstrap is None:
        return
    from finsent.alerts.publisher import KafkaAlertPublisher
    from finsent.core.alerts import AlertPayload
    from finsent.stream.topics import Topics

    details = {"acknowledged_by": row["acknowledged_by"]}
    record = AlertPayload.from_row(row).to_record("acknowledged", details=details)
    publisher = KafkaAlertPublisher(settings.kafka_bootstrap, Topics(settings.kafka.topic_prefix).alerts)
    publisher.publish_records([record])
    publisher.close()


@alerts_app.command("subscribe")
def alerts_subscribe(
    url: str = typer.Argument(..., help="Receiver URL (http/https)."),
    secret: str = typer.Option(..., envvar="FINSENT_WEBHOOK_SECRET", help="Shared signing secret."),
    fmt: str = typer.Option("json", "--format", help="json | slack"),
    rule: list[str] = typer.Option([], help="Only these rule ids (repeatable)."),
    severity: list[str] = typer.Option([], help="Only these severities (repeatable)."),
    scope: list[str] = typer.Option([], help="Only these scopes, e.g. entity:TSLA, topic:* (repeatable)."),
    event: list[str] = typer.Option([], help="Events to send (default: opened, updated)."),
) -> None:
    """Register a webhook subscription."""
    from finsent.core.netguard import AddressPolicy, UnresolvableHostError
    from finsent.storage import webhooks_repo

    if not url.startswith(("http://", "https://")) or not secret.strip() or fmt not in ("json", "slack"):
        raise typer.BadParameter("need an http(s) URL, a non-empty --secret and --format json|slack")
    with contextlib.suppress(UnresolvableHostError):  # each delivery checks the address again
        AddressPolicy.for_webhooks(current().settings.alerts.webhook_allow).check_url(url)
    filters = {
        k: v
        for k, v in {"rules": rule, "severities": severity, "scopes": scope, "events": event}.items()
        if v
    }
    with current().engine.begin() as conn:
        sub_id = webhooks_repo.add_subscription(conn, url, secret, fmt=fmt, filters=filters)
    console.print(f"subscription {sub_id} -> {url} ({fmt}) filters {filters or 'none'}")


@alerts_app.command("test-webhook")
def alerts_test_webhook(
    url: str = typer.Argument(..., help="Receiver URL."),
    secret: str = typer.Option(..., envvar="FINSENT_WEBHOOK_SECRET", help="Shared signing secret."),
    fmt: str = typer.Option("json", "--format", help="json | slack"),
    timeout: timedelta = typer.Option("10s", parser=as_duration, metavar="DURATION", help="Request timeout."),
) -> None:
    """Send one signed test event to URL and show the answer."""
    import httpx

    from finsent.alerts.webhooks import send_test
    from finsent.core.netguard import AddressPolicy

    guard = AddressPolicy.for_webhooks(current().settings.alerts.webhook_allow)
    try:
        response = send_test(url, secret, fmt=fmt, timeout_s=timeout.total_seconds(), guard=guard)
    except httpx.TransportError as exc:
        raise RetryableError(f"{url}: {type(exc).__name__}: {exc}") from None
    except httpx.HTTPError as exc:
        raise FinsentError(f"{url}: {type(exc).__name__}: {exc}") from None
    colour = "green" if response.is_success else "red"
    console.print(f"[{colour}]{response.status_code}[/{colour}] from {url}")
    if not response.is_success:
        raise typer.Exit(1)


@alerts_app.command("run")
def alerts_run(
    once: bool = typer.Option(False, "--once", help="Catch up, deliver what is due, exit."),
    catch_up_h: float = typer.Option(
        24.0, "--catch-up-hours", min=0, help="Missed windows re-checked at start."
    ),
    grace: timedelta = typer.Option(
        "90s", parser=as_duration, metavar="DURATION", help="Wait after a window ends for late aggregates."
    ),
    interval: timedelta = typer.Option(
        "10s", parser=as_duration, metavar="DURATION", help="Time between evaluations."
    ),
    from_stream: bool = typer.Option(
        True, "--from-stream/--timer-only", help="Evaluate windows as the scored stream closes them."
    ),
) -> None:
    """The alerting service: rule engine (stream-driven + timer + catch-up) and webhook delivery.

    SIGHUP reloads the rule file; an invalid file is rejected and the running rules stay.
    """
    from finsent.alerts.service import AlertService

    app = current()
    settings = app.settings
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    service = AlertService.from_settings(settings, app.engine, topic_labels=_topic_labels())
    lookback = timedelta(hours=catch_up_h)
    if once:
        events, outcomes = asyncio.run(service.run_once(lookback=lookback, grace=grace))
        console.print(f"{len(events)} alert events, {len(outcomes)} delivery attempts")
        return
    scored = None
    if from_stream:
        from finsent.stream.topics import Topics

        try:
            scored = (app.kafka_bootstrap, Topics(settings.kafka.topic_prefix).scored_articles)
        except FinsentError as exc:
            err_console.print(f"[yellow]warning:[/yellow] no broker ({exc}); evaluating on the timer only")
    asyncio.run(_serve(service, lookback, grace, interval.total_seconds(), scored))


async def _serve(
    service: Any,
    lookback: timedelta,
    grace: timedelta,
    interval_s: float,
    scored: tuple[str, str] | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, service.reload_rules)
    await service.serve(stop, lookback=lookback, grace=grace, interval_s=interval_s, scored_stream=scored)


@alerts_app.command("quality")
def alerts_quality(
    days: float = typer.Option(7.0, min=1, help="Days of simulated quiet stream."),
    seed: int = typer.Option(7, help="Random seed."),
    rules_file: Path | None = typer.Option(
        None, "--rules", help="Rule file (default: settings.alerts.rules_file, else the built-in rules)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Measure false alerts per day and detection delay of the rules on simulated streams."""
    from finsent.alerts.quality import measure, render_report
    from finsent.alerts.rules import load_rules

    rules = load_rules(rules_file or current().settings.alerts.rules_file, topic_labels=_topic_labels())
    report = measure(rules, quiet_days=days, seed=seed)
    if as_json:
        console.print_json(json.dumps(report, default=str))
    else:
        console.print(render_report(report))
