"""The model registry: version directories in a model store plus an index table.

The index is a :class:`RegistryIndex`; the SQL implementation over the ``model_versions`` table
lives in ``storage.model_registry.SqlModelIndex`` (storage and models import no other stage, so the
app shell wires them: it calls :func:`set_index_factory`). :class:`InMemoryIndex` serves tests and
one-off tools. Exactly one version is in production once any has been promoted; promote and
rollback change statuses in one transaction of the index.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from finsent.models.exceptions import RegistryError

__all__ = [
    "DEFAULT_MODEL_DIR",
    "InMemoryIndex",
    "ModelRecord",
    "ModelRegistry",
    "RegistryIndex",
    "ensure_default_registered",
    "set_index_factory",
]

#: The shipped default model version (package data).
DEFAULT_MODEL_DIR = Path(__file__).parent / "default"
STATUSES = ("candidate", "production", "archived")


@runtime_checkable
class RegistryIndex(Protocol):
    """Storage of registry rows (dicts with the columns of ``model_versions``)."""

    def add(self, row: Mapping[str, Any]) -> None:
        """Insert a new version row (status candidate unless given)."""
        ...

    def get(self, version: str) -> Mapping[str, Any] | None:
        """The row of ``version`` or None."""
        ...

    def list_versions(self) -> list[Mapping[str, Any]]:
        """All rows, newest first."""
        ...

    def promote(self, version: str) -> bool:
        """Archive the production version and make ``version`` production, atomically.

        Returns False when ``version`` is unknown (nothing changes).
        """
        ...

    def rollback(self) -> str | None:
        """Archive production and reinstate the version promoted before it; its id, or None."""
        ...

    def update_metrics(self, version: str, metrics: Mapping[str, Any]) -> None:
        """Replace the metrics of ``version``."""
        ...


@dataclass(frozen=True)
class ModelRecord:
    """One registered version."""

    version: str
    status: str
    path: str
    base_model: str | None = None
    parent_version: str | None = None
    data_fingerprint: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    created_at: datetime | None = None
    promoted_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ModelRecord:
        """Build from an index row (extra keys ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in row.items() if k in names})


class InMemoryIndex:
    """A :class:`RegistryIndex` in a dict (tests, tools without a database)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        if row["version"] in self.rows:
            raise RegistryError(f"version {row['version']} is already registered")
        data = {"status": "candidate", "metrics": {}, "created_at": datetime.now(UTC), "promoted_at": None}
        self.rows[str(row["version"])] = {**data, **row}

    def get(self, version: str) -> Mapping[str, Any] | None:
        return self.rows.get(version)

    def list_versions(self) -> list[Mapping[str, Any]]:
        return sorted(self.rows.values(), key=lambda r: (r["created_at"], r["version"]), reverse=True)

    def promote(self, version: str) -> bool:
        if version not in self.rows:
            return False
        for row in self.rows.values():
            if row["status"] == "production":
                row["status"] = "archived"
        self.rows[version].update(status="production", promoted_at=datetime.now(UTC))
        return True

    def rollback(self) -> str | None:
        current = next((r for r in self.rows.values() if r["status"] == "production"), None)
        if current is None:
            return None
        earlier = [
            r
            for r in self.rows.values()
            if r["status"] == "archived"
            and r["promoted_at"] is not None
            and r["promoted_at"] < current["promoted_at"]
        ]
        if not earlier:
            return None
        target = max(earlier, key=lambda r: r["promoted_at"])
        current["status"] = "archived"
        target["status"] = "production"
        return str(target["version"])

    def update_metrics(self, version: str, metrics: Mapping[str, Any]) -> None:
        self.rows[version]["metrics"] = dict(metrics)


_index_factory: Callable[[Any], RegistryIndex] | None = None


def set_index_factory(factory: Callable[[Any], RegistryIndex]) -> None:
    """Tell the registry how to index versions for a database engine (called by the app shell)."""
    global _index_factory
    _index_factory = factory


def _as_index(engine_or_index: Any) -> RegistryIndex:
    if isinstance(engine_or_index, RegistryIndex):
        return engine_or_index
    if _index_factory is None:
        raise RegistryError(
            "no registry index for a database engine: call models.registry.set_index_factory("
            "finsent.storage.model_registry.SqlModelIndex) first (the finsent CLI does)"
        )
    return _index_factory(engine_or_index)


class ModelRegistry:
    """Versions in ``store_dir/<version>/`` indexed by a :class:`RegistryIndex`."""

    def __init__(self, index_or_engine: Any, store_dir: str | Path) -> None:
        self.index = _as_index(index_or_engine)
        self.store_dir = Path(store_dir)

    def register(
        self, version_dir: str | Path, *, notes: str | None = None, copy: bool = True
    ) -> ModelRecord:
        """Copy a version directory into the store (unless already there) and index it as candidate."""
        src = Path(version_dir).resolve()
        from finsent.models.network import read_manifest  # torch-heavy module: only when copying a version

        manifest = read_manifest(src)
        version = str(manifest["version"])
        if self.index.get(version) is not None:
            raise RegistryError(f"version {version} is already registered")
        dest = self.store_dir / version
        if copy and src != dest.resolve():
            if dest.exists():
                raise RegistryError(
                    f"{dest} exists but is not registered; remove it or pick another version id"
                )
            self.store_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("onnx", "__pycache__", "*.pyc"))
        else:
            dest = src
        self.index.add(
            {
                "version": version,
                "status": "candidate",
                "path": str(dest.resolve()),
                "base_model": manifest.get("base_model"),
                "parent_version": manifest.get("parent_version"),
                "data_fingerprint": manifest.get("data_fingerprint"),
                "metrics": {"dev": manifest.get("dev_metrics", {}), **manifest.get("metrics", {})},
                "notes": notes,
            }
        )
        return self.get(version)

    def get(self, version: str) -> ModelRecord:
        """The record of ``version``.

        Raises:
            RegistryError: Unknown version.
        """
        row = self.index.get(version)
        if row is None:
            raise RegistryError(f"unknown model version {version!r}")
        return ModelRecord.from_row(row)

    def list(self) -> list[ModelRecord]:
        """All versions, newest first."""
        return [ModelRecord.from_row(r) for r in self.index.list_versions()]

    def production(self) -> ModelRecord | None:
        """The production version, if any."""
        return next((r for r in self.list() if r.status == "production"), None)

    def promote(self, version: str) -> ModelRecord:
        """Make ``version`` production; the previous production version becomes archived."""
        if not self.index.promote(version):
            raise RegistryError(f"unknown model version {version!r}")
        return self.get(version)

    def rollback(self) -> ModelRecord:
        """Archive production and reinstate the version that was production before it.

        Raises:
            RegistryError: No production version, or none promoted before it.
        """
        version = self.index.rollback()
        if version is None:
            raise RegistryError("nothing to roll back to (no earlier production version)")
        return self.get(version)

    def record_metrics(self, version: str, name: str, metrics: Mapping[str, Any]) -> ModelRecord:
        """Store evaluation metrics under ``name`` in the index (merged with earlier ones)."""
        record = self.get(version)
        self.index.update_metrics(version, {**record.metrics, name: dict(metrics)})
        return self.get(version)


def ensure_default_registered(engine: Any, store_dir: str | Path) -> ModelRecord:
    """Make sure a production model exists: register the shipped default model if none does.

    Copies ``models/default`` into ``store_dir`` and promotes it when no version is in
    production; otherwise changes nothing.

    Args:
        engine: A SQLAlchemy engine (indexed through the factory set by the app shell) or a
            :class:`RegistryIndex`.
        store_dir: The model store directory.

    Returns:
        The production version's record.
    """
    registry = ModelRegistry(engine, store_dir)
    current = registry.production()
    if current is not None:
        return current
    from finsent.models.network import read_manifest  # torch-heavy module: keep the CLI start fast

    version = str(read_manifest(DEFAULT_MODEL_DIR)["version"])
    if registry.index.get(version) is None:
        registry.register(DEFAULT_MODEL_DIR, notes="shipped default model")
    return registry.promote(version)
