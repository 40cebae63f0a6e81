"""Scored batches: articles, scores, entity and sentence scores, the aggregates they touch and dead
letters in ONE transaction.

Idempotent on (article, model version), so at-least-once delivery stores each article once: the
score row is overwritten and the entity and sentence rows of the pair are replaced. Errors come out
translated (:mod:`storage.exceptions`): unavailable -> retry, bad data -> isolate the rows
PostgreSQL refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from finsent.storage.aggregates import fold_scores, refresh_buckets
from finsent.storage.copy_writes import CopyBatch
from finsent.storage.dead_letters_repo import insert_new_dead_letters
from finsent.storage.entity_scores_repo import replace_entity_scores
from finsent.storage.exceptions import translate_errors
from finsent.storage.repository import insert_missing_articles, upsert_articles, upsert_scores
from finsent.storage.schema import EntityScore, Score, SentenceScore
from finsent.storage.sentence_scores_repo import replace_sentence_scores

__all__ = ["AggregateStrategy", "BulkStrategy", "ScoreWriter"]

Rows = Sequence[Mapping[str, Any]]
#: ``fold``: apply the batch's difference (cost follows the batch); ``recount``: recount the
#: touched minutes from the score tables (cost follows the minutes' fill). Same resulting rows.
AggregateStrategy = Literal["fold", "recount"]
#: ``copy``: score rows go through ``COPY`` (fast path); ``insert``: multi-row ``INSERT``.
BulkStrategy = Literal["copy", "insert"]


class ScoreWriter:
    """Writes the stream workers' batches.

    Args:
        engine: Engine on the finsent database.
        stage: ``dead_letters.stage`` of the dead letters written with the batches.
        aggregates: how the aggregates follow a batch (see :data:`AggregateStrategy`).
        bulk: how the rows are sent (see :data:`BulkStrategy`); both give the same rows.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        stage: str,
        aggregates: AggregateStrategy = "fold",
        bulk: BulkStrategy = "copy",
    ) -> None:
        self.engine = engine
        self.stage = stage
        self.aggregates = aggregates
        self.bulk = bulk

    def write(
        self,
        *,
        articles: Rows,
        scores: Rows,
        entity_scores: Rows = (),
        sentence_scores: Rows = (),
        dead_letters: Rows = (),
    ) -> None:
        """Store one batch in one transaction.

        Args:
            articles: ``articles`` rows (inserted when ingest has not stored them already).
            scores: ``scores`` rows; a re-score of (article, model version) overwrites.
            entity_scores: ``entity_scores`` rows; they replace the stored rows of every
                (article, model version) in ``scores``.
            sentence_scores: ``sentence_scores`` rows; replace like ``entity_scores``.
            dead_letters: Consumed records that failed (see
                :func:`~storage.dead_letters_repo.insert_new_dead_letters`).

        Raises:
            StorageUnavailableError: the database is unreachable (retry the batch).
            StorageDataError: a row violates the schema (nothing of the batch is stored).
        """
        with translate_errors("writing a batch of scores"), self.engine.begin() as conn:
            if articles and self.bulk == "copy":
                insert_missing_articles(conn, articles)
            elif articles:
                upsert_articles(conn, articles)
            if scores:
                self._write_scores(conn, scores, entity_scores, sentence_scores)
            if dead_letters:
                insert_new_dead_letters(conn, stage=self.stage, letters=dead_letters)

    def _write_scores(
        self, conn: Connection, scores: Rows, entity_scores: Rows, sentence_scores: Rows
    ) -> None:
        pairs = [(s["article_id"], s["model_version"]) for s in scores]

        fold = self.aggregates == "fold"
        copy = (
            CopyBatch(conn, [Score, EntityScore, SentenceScore], exclusive=fold)
            if self.bulk == "copy"
            else None
        )

        def write() -> None:
            if copy is not None:
                copy.upsert(Score, scores, ("article_id", "model_version"))
            else:
                upsert_scores(conn, scores)
            replace_entity_scores(conn, pairs, entity_scores, copy=copy)
            replace_sentence_scores(conn, pairs, sentence_scores, copy=copy)

        published = [s["published_at"] for s in scores]
        if fold:
            fold_scores(conn, [a for a, _ in pairs], published, write)
        else:
            write()
            refresh_buckets(conn, published)
