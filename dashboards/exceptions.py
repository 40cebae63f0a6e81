"""Exceptions of the dashboards stage (HTTP API, live page, Grafana), split by what the caller does."""

from __future__ import annotations

from finsent.core.errors import ConfigError, FinsentError, RetryableError

__all__ = [
    "DashboardsError",
    "GrafanaPushError",
    "GrafanaRefusedError",
    "GrafanaUnreachableError",
    "PanelSqlError",
]


class DashboardsError(FinsentError):
    """Root of the dashboards stage's own exceptions."""


class GrafanaPushError(DashboardsError):
    """Grafana did not accept a dashboard (one of the two below)."""


class GrafanaRefusedError(GrafanaPushError):
    """Grafana answered with an error (a wrong token, a missing permission): retrying will not help."""


class GrafanaUnreachableError(GrafanaPushError, RetryableError):
    """Grafana did not answer (connection refused, DNS, timeout): the same push may work later."""


class PanelSqlError(DashboardsError, ConfigError):
    """A generated Grafana panel has no SQL or uses a macro the expander does not know."""
