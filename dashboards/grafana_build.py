"""Grafana dashboards as code (grafanalib): the live page's views and the pipeline's health.

``finsent dashboards build`` writes one JSON file per dashboard into ``dashboards/grafana/json``,
which docker-compose mounts for Grafana's file provisioning; ``finsent dashboards push`` uploads
the same objects through Grafana's HTTP API. Every panel queries the PostgreSQL datasource with
uid ``finsent-postgres`` (see ``dashboards/grafana/provisioning/datasources``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from finsent.dashboards.grafana_sql import PanelSql

__all__ = [
    "DATASOURCE",
    "JSON_DIR",
    "build_dashboards",
    "iter_queries",
    "write_dashboards",
]

DATASOURCE = {"type": "grafana-postgresql-datasource", "uid": "finsent-postgres"}
JSON_DIR = Path(__file__).resolve().parent / "grafana" / "json"
_W, _H = 24, 8  # Grafana's grid is 24 columns wide
#: Dashboard JSON schema of Grafana 10.4/11: the panels are written in that shape, so Grafana runs
#: none of its legacy migrations on them (grafanalib's default, 12, predates data-source refs).
SCHEMA_VERSION = 39


class PostgresTarget(g.SqlTarget):  # type: ignore[misc]  # grafanalib is untyped
    """A raw-SQL target of the finsent PostgreSQL datasource (code editor mode)."""

    def to_json_data(self) -> dict[str, Any]:
        """The target as Grafana 10/11 stores it."""
        return {
            "refId": self.refId,
            "datasource": DATASOURCE,
            "editorMode": "code",
            "format": self.format,
            "rawQuery": True,
            "rawSql": self.rawSql,
        }


def _target(sql: str, fmt: str = "time_series") -> PostgresTarget:
    return PostgresTarget(rawSql=sql, format=fmt, refId="A")


def _pos(x: int, y: int, w: int, h: int = _H) -> g.GridPos:
    return g.GridPos(h=h, w=w, x=x, y=y)


def _series(title: str, sql: str, pos: g.GridPos, **kw: Any) -> g.TimeSeries:
    kw.setdefault("unit", "short")
    return g.TimeSeries(
        title=title, dataSource=DATASOURCE, targets=[_target(sql)], gridPos=pos, tooltipMode="multi", **kw
    )


def _table(title: str, sql: str, pos: g.GridPos, **kw: Any) -> g.Table:
    return g.Table(title=title, dataSource=DATASOURCE, targets=[_target(sql, "table")], gridPos=pos, **kw)


def _stat(title: str, sql: str, pos: g.GridPos, unit: str, red_at: float) -> g.Stat:
    steps = [{"color": "green", "value": None}, {"color": "red", "value": red_at}]
    return g.Stat(
        title=title,
        dataSource=DATASOURCE,
        targets=[_target(sql, "table")],
        gridPos=pos,
        format=unit,
        reduceCalc="lastNotNull",
        thresholdType="absolute",
        thresholds=steps,
    )


_STATUS_COLORS = {
    "type": "value",
    "options": {
        "open": {"color": "red", "index": 0, "text": "OPEN"},
        "acknowledged": {"color": "orange", "index": 1},
        "resolved": {"color": "green", "index": 2},
    },
}


def sentiment_dashboard(sql: PanelSql) -> g.Dashboard:
    """The live page's views: topic sentiment, volume, negative share, alerts, entities, ticker, headlines."""
    panels = [
        _series(
            "Sentiment index by topic (mean P(pos) - P(neg))",
            sql.sentiment_by_topic(),
            _pos(0, 0, _W),
            valueMin=-1,
            valueMax=1,
            legendPlacement="right",
            legendDisplayMode="table",
            legendCalcs=["mean", "lastNotNull"],
        ),
        _series(
            "Article volume by sentiment",
            sql.VOLUME,
            _pos(0, 8, 12),
            drawStyle="bars",
            fillOpacity=80,
            stacking={"mode": "normal", "group": "A"},
            overrides=_sentiment_colors(),
        ),
        _series(
            "Negative share",
            sql.NEGATIVE_SHARE,
            _pos(12, 8, 12),
            unit="percentunit",
            valueMin=0,
            valueMax=1,
            fillOpacity=15,
        ),
        _stat("Open alerts", sql.OPEN_ALERTS, _pos(0, 16, 4), "none", 1),
        _table(
            "Alerts in range (open first)",
            sql.ALERTS_TABLE,
            _pos(4, 16, 20),
            mappings=[_STATUS_COLORS],
            overrides=_status_cell_override(),
        ),
        _series(
            "Entity sentiment (relevance-weighted), busiest entities",
            sql.ENTITY_SENTIMENT,
            _pos(0, 24, 14),
            valueMin=-1,
            valueMax=1,
            legendPlacement="right",
        ),
        _table("Entities in range (relevance-weighted)", sql.ENTITY_TABLE, _pos(14, 24, 10)),
        _series(
            "Ticker sentiment (relevance-weighted): $ticker",
            sql.TICKER_SENTIMENT,
            _pos(0, 32, 10),
            valueMin=-1,
            valueMax=1,
        ),
        _series("Ticker volume: $ticker", sql.TICKER_VOLUME, _pos(0, 40, 10), **_BARS),
        _table("Latest articles: $ticker", sql.TICKER_ARTICLES, _pos(10, 32, 14, 16)),
        _table("Latest scored headlines", sql.LATEST_HEADLINES, _pos(0, 48, _W, 10)),
    ]
    ticker = g.Template(
        name="ticker", label="Ticker", type="textbox", query="AAPL", default="AAPL", dataSource=None
    )
    annotation = {
        "name": "finsent alerts",
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": "red",
        "rawQuery": ANNOTATION_SQL,
        "target": {"refId": "Anno", "rawSql": ANNOTATION_SQL, "format": "table", "editorMode": "code"},
    }
    return g.Dashboard(
        title="finsent: news sentiment",
        uid="finsent-sentiment",
        tags=["finsent"],
        panels=panels,
        templating=g.Templating(list=[ticker]),
        annotations=g.Annotations(list=[annotation]),
        time=g.Time("now-6h", "now"),
        refresh="30s",
        timezone="browser",
        schemaVersion=SCHEMA_VERSION,
    ).auto_panel_ids()


ANNOTATION_SQL = PanelSql.ALERT_ANNOTATIONS


_BARS: dict[str, Any] = {"drawStyle": "bars", "fillOpacity": 70}


def pipeline_dashboard(sql: PanelSql) -> g.Dashboard:
    """Pipeline health: throughput, lag, backlog, dead letters, webhook deliveries, production model."""
    panels = [
        _series("Throughput: articles scored", sql.THROUGHPUT, _pos(0, 0, 12), **_BARS),
        _series("Ingest: articles fetched", sql.INGEST_RATE, _pos(12, 0, 12), **_BARS),
        _series("Lag: fetch to score", sql.SCORING_LAG, _pos(0, 8, 12), unit="s"),
        _stat("Since last score", sql.SINCE_LAST_SCORE, _pos(12, 8, 4), "s", 300),
        _table("Backlog", sql.BACKLOG, _pos(16, 8, 8, 4)),
        _table("Production model", sql.PRODUCTION_MODEL, _pos(16, 12, 8, 4)),
        _series("Dead letters by stage", sql.DEAD_LETTERS, _pos(0, 16, 12), **_BARS),
        _series(
            "Webhook deliveries by status",
            sql.WEBHOOK_DELIVERIES,
            _pos(12, 16, 12),
            **_BARS,
            stacking={"mode": "normal", "group": "A"},
        ),
        _table("Latest dead letters", sql.DEAD_LETTER_TABLE, _pos(0, 24, _W)),
    ]
    return g.Dashboard(
        title="finsent: pipeline health",
        uid="finsent-pipeline",
        tags=["finsent"],
        panels=panels,
        time=g.Time("now-6h", "now"),
        refresh="30s",
        timezone="browser",
        schemaVersion=SCHEMA_VERSION,
    ).auto_panel_ids()


def _sentiment_colors() -> list[dict[str, Any]]:
    colors = {"negative": "red", "neutral": "gray", "positive": "green"}
    return [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
        }
        for name, color in colors.items()
    ]


def _status_cell_override() -> list[dict[str, Any]]:
    return [
        {
            "matcher": {"id": "byName", "options": "status"},
            "properties": [{"id": "custom.cellOptions", "value": {"type": "color-background"}}],
        }
    ]


def build_dashboards(topic_labels: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Every finsent dashboard as Grafana JSON, keyed by uid."""
    if topic_labels is None:
        from finsent.models.labels import TOPIC_LABELS

        topic_labels = TOPIC_LABELS
    sql = PanelSql(topic_labels)
    out = {}
    for dashboard in (sentiment_dashboard(sql), pipeline_dashboard(sql)):
        out[dashboard.uid] = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return out


def write_dashboards(out_dir: Path = JSON_DIR) -> list[Path]:
    """Write each dashboard to ``<out_dir>/<uid>.json`` (stable, sorted keys). Returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for uid, data in build_dashboards().items():
        path = out_dir / f"{uid}.json"
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def iter_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(where, rawSql)`` for every panel target and annotation of a dashboard's JSON."""
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            yield f"panel {panel.get('title')!r} target {target.get('refId')}", target.get("rawSql", "")
    for annotation in dashboard.get("annotations", {}).get("list", []):
        target = annotation.get("target") or {}
        if "rawSql" in target:
            yield f"annotation {annotation.get('name')!r}", target["rawSql"]
