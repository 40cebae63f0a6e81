"""SQL index of the model registry over the ``model_versions`` table.

Implements, structurally, the ``RegistryIndex`` protocol of ``models.registry`` (storage imports no
other stage; the app shell hands :class:`SqlModelIndex` to the models package). The partial unique
index ``uq_model_versions_one_production`` guarantees at most one production row; promote and
rollback run in one transaction so there is never zero or two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Engine, Table, func, insert, select, update

from finsent.storage.db import transaction
from finsent.storage.schema import ModelVersion

__all__ = ["SqlModelIndex"]

_COLUMNS = (
    "version",
    "status",
    "path",
    "base_model",
    "parent_version",
    "data_fingerprint",
    "metrics",
    "notes",
    "created_at",
    "promoted_at",
)
_TABLE = cast(Table, ModelVersion.__table__)


class SqlModelIndex:
    """Registry rows in PostgreSQL (``model_versions``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, row: Mapping[str, Any]) -> None:
        """Insert a version row (status candidate unless given)."""
        values = {k: v for k, v in row.items() if k in _COLUMNS and v is not None}
        values.setdefault("status", "candidate")
        with transaction(self.engine) as conn:
            conn.execute(insert(_TABLE).values(**values))

    def get(self, version: str) -> Mapping[str, Any] | None:
        """The row of ``version`` or None."""
        with transaction(self.engine) as conn:
            row = conn.execute(select(_TABLE).where(_TABLE.c.version == version)).mappings().first()
        return dict(row) if row is not None else None

    def list_versions(self) -> list[Mapping[str, Any]]:
        """All rows, newest first."""
        query = select(_TABLE).order_by(_TABLE.c.created_at.desc(), _TABLE.c.version.desc())
        with transaction(self.engine) as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def promote(self, version: str) -> bool:
        """Archive the production row and make ``version`` production in one transaction."""
        with transaction(self.engine) as conn:
            exists = conn.execute(
                select(_TABLE.c.version).where(_TABLE.c.version == version).with_for_update()
            ).first()
            if exists is None:
                return False
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.status == "production", _TABLE.c.version != version)
                .values(status="archived")
            )
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.version == version)
                .values(status="production", promoted_at=func.now())
            )
        return True

    def rollback(self) -> str | None:
        """Archive production and reinstate the version promoted before it (None: nothing to do)."""
        with transaction(self.engine) as conn:
            current = (
                conn.execute(select(_TABLE).where(_TABLE.c.status == "production").with_for_update())
                .mappings()
                .first()
            )
            if current is None or current["promoted_at"] is None:
                return None
            target = conn.execute(
                select(_TABLE.c.version)
                .where(
                    _TABLE.c.status == "archived",
                    _TABLE.c.promoted_at.is_not(None),
                    _TABLE.c.promoted_at < current["promoted_at"],
                )
                .order_by(_TABLE.c.promoted_at.desc())
                .limit(1)
                .with_for_update()
            ).scalar()
            if target is None:
                return None
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.version == current["version"])
                .values(status="archived", notes=f"rolled back to {target}")
            )
            conn.execute(update(_TABLE).where(_TABLE.c.version == target).values(status="production"))
        return str(target)

    def update_metrics(self, version: str, metrics: Mapping[str, Any]) -> None:
        """Replace the metrics of ``version``."""
        with transaction(self.engine) as conn:
            conn.execute(update(_TABLE).where(_TABLE.c.version == version).values(metrics=dict(metrics)))
