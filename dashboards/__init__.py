"""Dashboards, the last stage: HTTP API + live page (``dashboards.api``), Grafana dashboards as code
(``dashboards.grafana_build``, ``dashboards.grafana_push``)."""

__all__: list[str] = []
