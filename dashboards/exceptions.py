"""Exceptions of the dashboards stage (HTTP API, live page, Grafana), split by what the caller does."""

from __future__ import annotations

from finsent.core.errors import ConfigError, FinsentError, RetryableError

__all__ = ["DashboardsError", "GrafanaPushError", "PanelSqlError"]


class DashboardsError(FinsentError):
    """Root of the dashboards stage's own exceptions."""


class GrafanaPushError(DashboardsError, RetryableError):
    """Grafana did not accept a dashboard (unreachable, timeout, or an error answer)."""


class PanelSqlError(DashboardsError, ConfigError):
    """A generated Grafana panel has no SQL or uses a macro the expander does not know."""
