"""Scored batches: articles, scores, the aggregates they touch and dead letters in ONE transaction.

Idempotent on (article, model version), so at-least-once delivery stores each article once.
Errors come out translated (:mod:`storage.exceptions`): unavailable -> retry, bad data ->
isolate the rows PostgreSQL refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from finsent.storage.aggregates import refresh_buckets
from finsent.storage.dead_letters_repo import insert_new_dead_letters
from finsent.storage.exceptions import translate_errors
from finsent.storage.repository import upsert_articles, upsert_scores

__all__ = ["ScoreWriter"]


class ScoreWriter:
    """Writes the stream workers' batches.

    Args:
        engine: Engine on the finsent database.
        stage: ``dead_letters.stage`` of the dead letters written with the batches.
    """

    def __init__(self, engine: Engine, *, stage: str) -> None:
        self.engine = engine
        self.stage = stage

    def write(
        self,
        *,
        articles: Sequence[Mapping[str, Any]],
        scores: Sequence[Mapping[str, Any]],
        dead_letters: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Store one batch in one transaction.

        Args:
            articles: ``articles`` rows (inserted when ingest has not stored them already).
            scores: ``scores`` rows; a re-score of (article, model version) overwrites.
            dead_letters: Consumed records that failed (see
                :func:`~storage.dead_letters_repo.insert_new_dead_letters`).

        Raises:
            StorageUnavailableError: the database is unreachable (retry the batch).
            StorageDataError: a row violates the schema (nothing of the batch is stored).
        """
        with translate_errors("writing a batch of scores"), self.engine.begin() as conn:
            if articles:
                upsert_articles(conn, articles)
            if scores:
                upsert_scores(conn, scores)
                refresh_buckets(conn, [s["published_at"] for s in scores])
            if dead_letters:
                insert_new_dead_letters(conn, stage=self.stage, letters=dead_letters)
