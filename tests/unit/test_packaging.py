"""What `pip install .` puts into site-packages: the `finsent` package and nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
STAGE_FOLDERS = ("ingest", "stream", "models", "alerts", "storage", "dashboards")


def _folder_of(package: str) -> Path:
    """Source folder of a listed package, resolved through package-dir like setuptools does."""
    mapping: dict[str, str] = _SETUPTOOLS["package-dir"]
    parts = package.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in mapping:
            return ROOT / mapping[prefix] / "/".join(parts[n:])
    raise AssertionError(f"{package} has no package-dir entry")


def _shipped_folders() -> set[Path]:
    roots = {ROOT / path for path in _SETUPTOOLS["package-dir"].values()}
    found = set()
    for root in roots:
        for folder in [root, *root.rglob("*")]:
            if (
                folder.is_dir()
                and "__pycache__" not in folder.parts
                and any(f.is_file() for f in folder.iterdir())
            ):
                found.add(folder)
    return found


def test_every_shipped_folder_is_a_listed_package_and_back() -> None:
    listed = {_folder_of(p) for p in _SETUPTOOLS["packages"]}
    assert all(folder.is_dir() for folder in listed)
    assert _shipped_folders() - listed == set(), "add the folder to [tool.setuptools] packages"


def test_only_finsent_is_top_level_in_the_package_dir_mapping() -> None:
    assert {name.split(".")[0] for name in _SETUPTOOLS["package-dir"]} == {"finsent"}
    assert {path for name, path in _SETUPTOOLS["package-dir"].items() if name != "finsent"} == set(
        STAGE_FOLDERS
    )


def _source_copy(dest: Path) -> Path:
    """The checkout's files (tracked, or new and not ignored) copied to ``dest``: setuptools builds
    in ``build/`` of its source tree, and a stale one there would leak deleted modules into the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.slow
def test_the_wheel_holds_only_the_finsent_namespace(tmp_path: Path) -> None:
    source = _source_copy(tmp_path / "src")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip_wheel, "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("finsent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"finsent", wheel.name.split("-py")[0] + ".dist-info"}
    for shipped in (
        "finsent/ingest/crawler.py",
        "finsent/models/default/heads.safetensors",
        "finsent/storage/migrations/env.py",
        "finsent/dashboards/web/index.html",
        "finsent/alerts/data/default_rules.yaml",
        "finsent/core/settings.py",
    ):
        assert shipped in names
    assert not [n for n in names if "/tests/" in n or n.startswith(("benchmarks/", "tests/"))]


def test_stage_names_are_not_importable_at_top_level() -> None:
    # -I: no working directory on sys.path, so only what is installed counts.
    probe = f"import importlib.util as u; print([n for n in {STAGE_FOLDERS!r} if u.find_spec(n)])"
    out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_imports_no_heavy_dependency() -> None:
    # `finsent --help` stays fast (about 1.5 s) because torch, transformers and Faust load lazily.
    probe = (
        "import sys\nfrom finsent.cli import main\nsys.argv = ['finsent', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('torch', 'transformers', 'faust', 'onnxruntime', 'pandas')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "[]"
