"""The stage packages import each other only along the pipeline's allowed edges.

`storage` and `models` are the bottom layers and import no other stage; the app shell
(`finsent.cli`, `finsent.runtime`) is the only place that wires everything together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"ingest", "stream", "models", "alerts", "storage", "dashboards"}
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "models": set(),
    "stream": {"storage", "models"},
    "ingest": {"stream", "storage"},
    "alerts": {"storage", "stream"},
    "dashboards": {"storage", "alerts", "models", "stream"},  # last stage: API + live page
}
SHELL_LEAVES = {"finsent.errors", "finsent.settings", "finsent"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _violations(stage: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / stage).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for module in _imports(path):
            top = module.split(".")[0]
            if top in STAGES and top != stage and top not in ALLOWED[stage]:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
            if top == "finsent" and module not in SHELL_LEAVES:
                bad.append(f"{path.relative_to(ROOT)} imports app shell module {module}")
    return bad


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_imports_follow_the_pipeline(stage: str) -> None:
    assert (ROOT / stage / "__init__.py").exists(), f"{stage}/ is a package"
    assert _violations(stage) == []


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    # Guard against a checker that silently passes everything.
    probe = tmp_path / "probe.py"
    probe.write_text("from stream.records import ArticleRecord\nimport finsent.cli\n")
    assert _imports(probe) == {"stream.records", "finsent.cli"}
