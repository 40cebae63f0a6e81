"""Registry logic on the in-memory index (the SQL index is tested in tests/integration/models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finsent.models.exceptions import RegistryError
from finsent.models.registry import DEFAULT_MODEL_DIR, InMemoryIndex, ModelRegistry, ensure_default_registered


def _fake_version(root: Path, version: str) -> Path:
    d = root / "src" / version
    d.mkdir(parents=True)
    (d / "finsent_model.json").write_text(f'{{"version": "{version}", "dev_metrics": {{"x": 1}}}}')
    return d


def _productions(reg: ModelRegistry) -> list[str]:
    return [r.version for r in reg.list() if r.status == "production"]


def test_register_copies_into_store(tmp_path: Path) -> None:
    reg = ModelRegistry(InMemoryIndex(), tmp_path / "store")
    rec = reg.register(_fake_version(tmp_path, "v1"))
    assert rec.status == "candidate"
    assert Path(rec.path) == (tmp_path / "store" / "v1").resolve()
    assert (tmp_path / "store" / "v1" / "finsent_model.json").is_file()
    with pytest.raises(RegistryError):
        reg.register(_fake_version(tmp_path / "again", "v1"))


def test_promote_and_rollback_keep_one_production(tmp_path: Path) -> None:
    reg = ModelRegistry(InMemoryIndex(), tmp_path / "store")
    for v in ("v1", "v2", "v3"):
        reg.register(_fake_version(tmp_path, v))
    assert _productions(reg) == []
    with pytest.raises(RegistryError):
        reg.rollback()
    for v in ("v1", "v2", "v3"):
        reg.promote(v)
        assert _productions(reg) == [v]
    assert reg.rollback().version == "v2"
    assert _productions(reg) == ["v2"]
    assert reg.rollback().version == "v1"
    assert _productions(reg) == ["v1"]
    with pytest.raises(RegistryError):
        reg.rollback()
    assert _productions(reg) == ["v1"]
    with pytest.raises(RegistryError):
        reg.promote("nope")
    assert _productions(reg) == ["v1"]
    assert {r.status for r in reg.list()} == {"production", "archived"}


def test_previous_production_follows_promotions(tmp_path: Path) -> None:
    reg = ModelRegistry(InMemoryIndex(), tmp_path / "store")
    for v in ("v1", "v2"):
        reg.register(_fake_version(tmp_path, v))
    assert reg.production() is None and reg.previous_production() is None
    reg.promote("v1")
    assert [r.version for r in (reg.production(), reg.previous_production()) if r] == ["v1"]
    reg.promote("v2")
    assert [r.version for r in (reg.production(), reg.previous_production()) if r] == ["v2", "v1"]


def test_something_that_is_not_an_index_is_a_clear_error(tmp_path: Path) -> None:
    # An engine (or anything else) is not an index: the caller builds SqlModelIndex(engine).
    with pytest.raises(RegistryError, match=r"needs a RegistryIndex.*SqlModelIndex"):
        ModelRegistry(object(), tmp_path)  # type: ignore[arg-type]  # the mistake under test


def test_ensure_default_registered_is_idempotent(tmp_path: Path) -> None:
    assert (DEFAULT_MODEL_DIR / "finsent_model.json").is_file()
    index = InMemoryIndex()
    first = ensure_default_registered(ModelRegistry(index, tmp_path / "store"))
    assert first.status == "production"
    again = ensure_default_registered(ModelRegistry(index, tmp_path / "store"))
    assert again.version == first.version and len(index.rows) == 1
    shutil.rmtree(tmp_path / "store")
