"""The generated Grafana dashboards: committed JSON is current, panels are well formed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from finsent.dashboards.grafana_build import DATASOURCE, JSON_DIR, build_dashboards, iter_queries
from finsent.models.labels import TOPIC_LABELS

BUILT = build_dashboards()


def test_committed_json_matches_the_code() -> None:
    committed = {p.stem: json.loads(p.read_text()) for p in JSON_DIR.glob("*.json")}
    assert committed == BUILT, "run `finsent dashboards build` and commit dashboards/grafana/json"


def test_cli_build_writes_the_same_json(tmp_path: Path) -> None:
    import typer

    from finsent.cli import dashboards_cmd

    app = typer.Typer()
    dashboards_cmd.register(app)
    result = CliRunner().invoke(app, ["dashboards", "build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {f"{uid}.json" for uid in BUILT}
    for uid, data in BUILT.items():
        assert json.loads((tmp_path / f"{uid}.json").read_text()) == data


@pytest.mark.parametrize("uid", sorted(BUILT))
def test_every_panel_queries_the_finsent_postgres_datasource(uid: str) -> None:
    dashboard = BUILT[uid]
    assert dashboard["uid"] == uid
    for panel in dashboard["panels"]:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "finsent-postgres"
            assert target["rawQuery"] is True and target["editorMode"] == "code"
            assert target["format"] in ("time_series", "table")
            assert target["rawSql"].lstrip().upper().startswith("SELECT")


@pytest.mark.parametrize("uid", sorted(BUILT))
def test_panels_fit_the_grid_without_overlap(uid: str) -> None:
    cells: set[tuple[int, int]] = set()
    ids = set()
    for panel in BUILT[uid]["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cover = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & cover, f"{panel['title']} overlaps another panel"
        cells |= cover
        ids.add(panel["id"])
    assert len(ids) == len(BUILT[uid]["panels"])


def _titles(uid: str) -> str:
    return " | ".join(p["title"].lower() for p in BUILT[uid]["panels"])


@pytest.mark.parametrize(
    ("uid", "words"),
    [
        (
            "finsent-sentiment",
            ["sentiment index by topic", "volume", "negative share", "alerts", "ticker", "headlines"],
        ),
        ("finsent-pipeline", ["throughput", "lag", "dead letters", "backlog", "webhook"]),
    ],
)
def test_dashboards_show_the_live_page_views_and_pipeline_health(uid: str, words: list[str]) -> None:
    titles = _titles(uid)
    assert [w for w in words if w not in titles] == []


def test_topic_names_come_from_the_model_labels() -> None:
    sql = BUILT["finsent-sentiment"]["panels"][0]["targets"][0]["rawSql"]
    for i, label in enumerate(TOPIC_LABELS):
        assert f"({i}, '{label}')" in sql


def test_queries_include_the_alert_annotation() -> None:
    where: list[Any] = [w for w, _ in iter_queries(BUILT["finsent-sentiment"])]
    assert "annotation 'finsent alerts'" in where
    assert len(where) == len(BUILT["finsent-sentiment"]["panels"]) + 1
