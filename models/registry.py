"""The model registry: version directories in a model store plus an index of their rows.

:class:`ModelRegistry` is built with its index explicitly: a :class:`RegistryIndex` -- in
production ``finsent.storage.model_versions.SqlModelIndex(engine)`` over the ``model_versions``
table (built by the caller: the CLI, the runtime, stream workers, retraining), in tests and one-off
tools :class:`InMemoryIndex`. The registry lives here, below the stream stage, because stream
workers register the shipped default model when none is in production; it imports no storage.

Exactly one version is in production once any has been promoted; promote and rollback change
statuses in one transaction of the index.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
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

    def production(self) -> Mapping[str, Any] | None:
        """The production row, or None when no version is promoted."""
        ...

    def previous_production(self) -> Mapping[str, Any] | None:
        """The row of the version that was production before the current one, or None."""
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

    def production(self) -> Mapping[str, Any] | None:
        return next((r for r in self.rows.values() if r["status"] == "production"), None)

    def previous_production(self) -> Mapping[str, Any] | None:
        current = self.production()
        if current is None or current["promoted_at"] is None:
            return None
        earlier = [
            r
            for r in self.rows.values()
            if r["status"] == "archived"
            and r["promoted_at"] is not None
            and r["promoted_at"] < current["promoted_at"]
        ]
        return max(earlier, key=lambda r: r["promoted_at"]) if earlier else None

    def rollback(self) -> str | None:
        current, target = self.production(), self.previous_production()
        if current is None or target is None:
            return None
        self.rows[current["version"]]["status"] = "archived"
        self.rows[target["version"]]["status"] = "production"
        return str(target["version"])

    def update_metrics(self, version: str, metrics: Mapping[str, Any]) -> None:
        self.rows[version]["metrics"] = dict(metrics)


class ModelRegistry:
    """Versions in ``store_dir/<version>/`` indexed by a :class:`RegistryIndex`.

    Args:
        index: Where the version rows live (``SqlModelIndex(engine)``, ``InMemoryIndex()``).
        store_dir: The model store directory.

    Raises:
        RegistryError: ``index`` is not a :class:`RegistryIndex` (e.g. a bare engine).
    """

    def __init__(self, index: RegistryIndex, store_dir: str | Path) -> None:
        if not isinstance(index, RegistryIndex):
            raise RegistryError(
                f"a ModelRegistry needs a RegistryIndex, got {type(index).__name__}: build one "
                "(finsent.storage.model_versions.SqlModelIndex(engine), or InMemoryIndex())"
            )
        self.index = index
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
        row = self.index.production()
        return None if row is None else ModelRecord.from_row(row)

    def previous_production(self) -> ModelRecord | None:
        """The version that was production before the current one, if any."""
        row = self.index.previous_production()
        return None if row is None else ModelRecord.from_row(row)

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


def ensure_default_registered(registry: ModelRegistry) -> ModelRecord:
    """Make sure a production model exists: register the shipped default model if none does.

    Copies ``models/default`` into the registry's store and promotes it when no version is in
    production; otherwise changes nothing.

    Returns:
        The production version's record.
    """
    current = registry.production()
    if current is not None:
        return current
    from finsent.models.network import read_manifest  # torch-heavy module: keep the CLI start fast

    version = str(read_manifest(DEFAULT_MODEL_DIR)["version"])
    if registry.index.get(version) is None:
        registry.register(DEFAULT_MODEL_DIR, notes="shipped default model")
    return registry.promote(version)
