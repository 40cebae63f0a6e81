"""finsent's floors: a module imports only from the floors below it (and its own package).

    core -> storage, models -> stream -> ingest, alerts -> lifecycle -> dashboards -> shell

``finsent.core`` (errors, settings, durations, contracts) imports nothing else of ours. The app
shell (``finsent.cli``, ``finsent.runtime``) wires everything and nothing imports it. There is
no whitelist: every package folder of the install is listed below exactly once.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: package -> the packages of ours it may import (besides itself and its own subpackages).
FLOORS: dict[str, set[str]] = {
    "finsent.core": set(),
    "finsent.storage": {"finsent.core"},
    "finsent.models": {"finsent.core"},
    "finsent.stream": {"finsent.core", "finsent.storage", "finsent.models"},
    "finsent.ingest": {"finsent.core", "finsent.storage", "finsent.stream"},
    "finsent.alerts": {"finsent.core", "finsent.storage", "finsent.stream"},
    "finsent.lifecycle": {"finsent.core", "finsent.storage", "finsent.models", "finsent.alerts"},
    "finsent.dashboards": {
        "finsent.core",
        "finsent.storage",
        "finsent.models",
        "finsent.stream",
        "finsent.alerts",
        "finsent.lifecycle",
    },
}
SHELL = {"finsent.cli", "finsent.runtime"}
FLOORS.update({shell: set(FLOORS) | {"finsent"} | SHELL for shell in SHELL})


def _package_dirs() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return {name: ROOT / path for name, path in config["package-dir"].items()}


def _source_dir(floor: str) -> Path:
    dirs = _package_dirs()
    if floor in dirs:
        return dirs[floor]
    return dirs["finsent"] / floor.removeprefix("finsent.").replace(".", "/")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _floor_of(module: str) -> str | None:
    """The floor a ``finsent.*`` module belongs to (None for the bare ``finsent`` package)."""
    parts = module.split(".")
    if parts[0] != "finsent":
        return None
    return ".".join(parts[:2]) if len(parts) > 1 else "finsent"


def _violations(floor: str) -> list[str]:
    bad = []
    for path in sorted(_source_dir(floor).rglob("*.py")):
        for module in _imports(path):
            target = _floor_of(module)
            if target is None or target == floor:
                continue
            if target not in FLOORS[floor]:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


@pytest.mark.parametrize("floor", sorted(FLOORS))
def test_floor_imports_only_from_below(floor: str) -> None:
    assert (_source_dir(floor) / "__init__.py").exists(), f"{floor} is a package"
    assert _violations(floor) == []


def test_every_package_folder_has_a_floor() -> None:
    # A new stage folder must be given its place here; it is never allowed everything by default.
    shell_dir = _package_dirs()["finsent"]
    inside_shell = {
        f"finsent.{p.parent.name}" for p in shell_dir.glob("*/__init__.py") if p.parent.name != "__pycache__"
    }
    mapped = set(_package_dirs()) - {"finsent"}
    assert inside_shell | mapped == set(FLOORS)


def test_the_shell_package_itself_imports_nothing_of_ours() -> None:
    # `import finsent` (every process does it) stays cheap.
    assert {
        m for m in _imports(_package_dirs()["finsent"] / "__init__.py") if m.startswith("finsent")
    } == set()


def test_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    # Guard against a checker that silently passes everything.
    probe = tmp_path / "probe.py"
    probe.write_text("from finsent.core.records import ArticleRecord\nimport finsent.cli\n")
    assert _imports(probe) == {"finsent.core.records", "finsent.cli"}
    assert _floor_of("finsent.cli.main") not in FLOORS["finsent.stream"]
    assert _floor_of("finsent.stream.sink") not in FLOORS["finsent.core"]
