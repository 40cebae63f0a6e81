"""PostgreSQL storage: schema, migrations, engines, and every SQL statement finsent runs.

Repositories are named after what they hold; the stages call them and never write SQL:

* ``articles_repo`` (de-duplicating article store, Kafka outbox), ``sources_repo``,
  ``crawl_state_repo``, ``dead_letters_repo`` -- the ingest stage;
* ``scores_repo`` (scored batches with their aggregates, through ``copy_writes``),
  ``entity_scores_repo`` and ``sentence_scores_repo`` (per-entity and per-sentence scores),
  ``aggregates`` (per-minute buckets: ``aggregate_fold``, the recount, ``aggregate_check``) --
  the stream stage;
* ``scope_sums`` (aggregate sums per alert scope), ``alerts_repo`` (alert episodes and the
  outbox transaction), ``webhooks_repo`` (subscriptions, deliveries, attempts) -- alerting;
* ``article_queries``, ``aggregate_queries``, ``entity_queries`` (the entity view),
  ``window_queries`` (an alert window's articles), ``paging``, ``panel_queries`` -- the HTTP API
  and dashboards;
* ``labels_repo``, ``model_versions``, ``locks`` -- the model lifecycle.

Imports no other finsent stage (only ``finsent.core``).
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
