"""PostgreSQL storage: schema, migrations, engines and bulk idempotent writes.

Imports no other finsent stage (only ``finsent.core.errors`` / ``finsent.core.settings``).
"""

from __future__ import annotations

from finsent.storage.db import (
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    session_scope,
    sessionmaker_for,
    transaction,
    truncate_all,
    upgrade,
)
from finsent.storage.exceptions import (
    MigrationError,
    StorageDataError,
    StorageError,
    StorageUnavailableError,
    translate_errors,
)
from finsent.storage.repository import bulk_upsert, insert_dead_letter, upsert_articles, upsert_scores

__all__ = [
    "MigrationError",
    "StorageDataError",
    "StorageError",
    "StorageUnavailableError",
    "bulk_upsert",
    "current_revision",
    "downgrade",
    "head_revision",
    "insert_dead_letter",
    "make_engine",
    "session_scope",
    "sessionmaker_for",
    "transaction",
    "translate_errors",
    "truncate_all",
    "upgrade",
    "upsert_articles",
    "upsert_scores",
]
