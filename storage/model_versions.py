"""Model versions (the ``model_versions`` table): which version is in production, and the registry index.

* :func:`production_version` -- *the* answer to "which version is in production" (stream workers,
  the API, the labeling queue, retraining and the CLI all ask it here);
* :func:`previous_production` -- the version that was production before it (rollback, the label
  queue's disagreement signal);
* :func:`production_version_subquery` -- the same lookup inlined in a larger query;
* :func:`list_models` -- versions for display, production first;
* :class:`SqlModelIndex` -- implements, structurally, the ``RegistryIndex`` protocol of
  ``finsent.models.registry`` (storage imports no other stage; whoever builds a ``ModelRegistry``
  hands it one).

The partial unique index ``uq_model_versions_one_production`` guarantees at most one production
row; promote and rollback run in one transaction so there is never zero or two.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Select, Table, func, insert, select, update
from sqlalchemy.sql.selectable import ScalarSelect

from finsent.storage.db import transaction
from finsent.storage.exceptions import translate_errors
from finsent.storage.schema import ModelVersion

__all__ = [
    "PRODUCTION",
    "SqlModelIndex",
    "list_models",
    "model_view",
    "previous_production",
    "production_version",
    "production_version_subquery",
]

#: Status of the one version workers score with.
PRODUCTION = "production"
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


def _production() -> Select[Any]:
    return select(_TABLE).where(_TABLE.c.status == PRODUCTION)


def _promoted_before(promoted_at: datetime) -> Select[Any]:
    """The archived versions promoted before ``promoted_at`` (production's), latest first."""
    return (
        select(_TABLE)
        .where(
            _TABLE.c.status == "archived",
            _TABLE.c.promoted_at.is_not(None),
            _TABLE.c.promoted_at < promoted_at,
        )
        .order_by(_TABLE.c.promoted_at.desc())
        .limit(1)
    )


def model_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A ``model_versions`` row as plain data (one key per column)."""
    return {k: row[k] for k in _COLUMNS}


def production_version(conn: Connection) -> dict[str, Any] | None:
    """The production version's row (every column), or None when none is promoted."""
    with translate_errors("reading the production model"):
        row = conn.execute(_production()).mappings().first()
    return None if row is None else model_view(row)


def previous_production(conn: Connection) -> dict[str, Any] | None:
    """The row of the version that was production before the current one (None: there is none)."""
    current = production_version(conn)
    if current is None or current["promoted_at"] is None:
        return None
    with translate_errors("reading the previous production model"):
        row = conn.execute(_promoted_before(current["promoted_at"])).mappings().first()
    return None if row is None else model_view(row)


def production_version_subquery() -> ScalarSelect[str]:
    """The production version id as a scalar subquery (NULL when none), for larger queries."""
    return select(_TABLE.c.version).where(_TABLE.c.status == PRODUCTION).limit(1).scalar_subquery()


def list_models(conn: Connection, *, status: str | None = None) -> list[dict[str, Any]]:
    """Registered model versions (of ``status``, if given), production first, then newest first."""
    stmt = select(_TABLE)
    if status is not None:
        stmt = stmt.where(_TABLE.c.status == status)
    stmt = stmt.order_by((_TABLE.c.status == PRODUCTION).desc(), _TABLE.c.created_at.desc())
    with translate_errors("listing model versions"):
        return [model_view(m) for m in conn.execute(stmt).mappings()]


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

    def production(self) -> Mapping[str, Any] | None:
        """The production row or None (:func:`production_version`)."""
        with transaction(self.engine) as conn:
            return production_version(conn)

    def previous_production(self) -> Mapping[str, Any] | None:
        """The row of the version promoted before production (:func:`previous_production`)."""
        with transaction(self.engine) as conn:
            return previous_production(conn)

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
                .where(_TABLE.c.status == PRODUCTION, _TABLE.c.version != version)
                .values(status="archived")
            )
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.version == version)
                .values(status=PRODUCTION, promoted_at=func.now())
            )
        return True

    def rollback(self) -> str | None:
        """Archive production and reinstate the version promoted before it (None: nothing to do)."""
        with transaction(self.engine) as conn:
            current = conn.execute(_production().with_for_update()).mappings().first()
            if current is None or current["promoted_at"] is None:
                return None
            target = (
                conn.execute(_promoted_before(current["promoted_at"]).with_for_update()).mappings().first()
            )
            if target is None:
                return None
            version = str(target["version"])
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.version == current["version"])
                .values(status="archived", notes=f"rolled back to {version}")
            )
            conn.execute(update(_TABLE).where(_TABLE.c.version == version).values(status=PRODUCTION))
        return version

    def update_metrics(self, version: str, metrics: Mapping[str, Any]) -> None:
        """Replace the metrics of ``version``."""
        with transaction(self.engine) as conn:
            conn.execute(update(_TABLE).where(_TABLE.c.version == version).values(metrics=dict(metrics)))
