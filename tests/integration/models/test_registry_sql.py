"""The registry on the real embedded PostgreSQL: exactly one production version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from finsent.models.exceptions import RegistryError
from finsent.models.registry import DEFAULT_MODEL_DIR, ModelRegistry, ensure_default_registered
from finsent.storage import model_versions
from finsent.storage.model_versions import SqlModelIndex


def _fake_version(root: Path, version: str) -> Path:
    d = root / "src" / version
    d.mkdir(parents=True)
    (d / "finsent_model.json").write_text(
        f'{{"version": "{version}", "base_model": "b", "dev_metrics": {{}}}}'
    )
    return d


def _production_rows(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version FROM model_versions WHERE status = 'production'")).all()
    return [r[0] for r in rows]


def test_promote_rollback_keep_exactly_one_production(db_engine: Engine, tmp_path: Path) -> None:
    reg = ModelRegistry(SqlModelIndex(db_engine), tmp_path / "store")
    for v in ("v1", "v2", "v3"):
        rec = reg.register(_fake_version(tmp_path, v))
        assert rec.status == "candidate" and rec.created_at is not None
    assert _production_rows(db_engine) == []
    for v in ("v1", "v2", "v3"):
        assert reg.promote(v).status == "production"
        assert _production_rows(db_engine) == [v]
    assert reg.rollback().version == "v2"
    assert _production_rows(db_engine) == ["v2"]
    assert reg.get("v3").notes == "rolled back to v2"
    assert reg.rollback().version == "v1"
    with pytest.raises(RegistryError):
        reg.rollback()
    assert _production_rows(db_engine) == ["v1"]
    with pytest.raises(RegistryError):
        reg.promote("missing")
    assert _production_rows(db_engine) == ["v1"]
    assert reg.promote("v3").version == "v3"
    assert _production_rows(db_engine) == ["v3"]


def test_database_refuses_a_second_production_row(db_engine: Engine, tmp_path: Path) -> None:
    from finsent.storage.exceptions import StorageDataError

    index = SqlModelIndex(db_engine)
    index.add({"version": "a", "path": "/a", "status": "production"})
    with pytest.raises(StorageDataError):
        index.add({"version": "b", "path": "/b", "status": "production"})
    assert _production_rows(db_engine) == ["a"]


def test_metrics_are_stored(db_engine: Engine, tmp_path: Path) -> None:
    reg = ModelRegistry(SqlModelIndex(db_engine), tmp_path / "store")
    reg.register(_fake_version(tmp_path, "m1"))
    rec = reg.record_metrics("m1", "sentiment:valid.csv", {"accuracy": 0.9})
    assert rec.metrics["sentiment:valid.csv"] == {"accuracy": 0.9}


def test_ensure_default_registered_on_the_sql_index(db_engine: Engine, tmp_path: Path) -> None:
    store = tmp_path / "store"
    first: Any = ensure_default_registered(ModelRegistry(SqlModelIndex(db_engine), store))
    assert first.status == "production"
    assert (Path(first.path) / "finsent_model.json").is_file()
    assert Path(first.path).parent == store.resolve()
    assert ensure_default_registered(ModelRegistry(SqlModelIndex(db_engine), store)).version == first.version
    assert _production_rows(db_engine) == [first.version]
    assert DEFAULT_MODEL_DIR.is_dir()


def test_production_lookups_agree(db_engine: Engine, tmp_path: Path) -> None:
    # One lookup (storage.model_versions) answers the registry, the API's listing and inline queries.
    reg = ModelRegistry(SqlModelIndex(db_engine), tmp_path / "store")
    for v in ("p1", "p2", "p3"):
        reg.register(_fake_version(tmp_path, v))
    with db_engine.connect() as conn:
        assert model_versions.production_version(conn) is None
        assert model_versions.previous_production(conn) is None
    reg.promote("p1")
    reg.promote("p3")
    with db_engine.connect() as conn:
        row = model_versions.production_version(conn)
        previous = model_versions.previous_production(conn)
        inline = conn.execute(select(model_versions.production_version_subquery())).scalar()
        listed = model_versions.list_models(conn)
    production, before = reg.production(), reg.previous_production()
    assert row is not None and production is not None and previous is not None and before is not None
    assert row["version"] == inline == production.version == listed[0]["version"] == "p3"
    assert previous["version"] == before.version == "p1"
    assert set(row) == set(listed[0])
