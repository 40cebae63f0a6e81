"""Sentence scores of whole articles: write a batch's rows, read an article's.

One row per (article, model version, sentence index); offsets are into ``articles.body``. A batch
replaces the rows of each (article, model version) it scores (see :mod:`storage.entity_scores_repo`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from finsent.storage.copy_writes import CopyBatch
from finsent.storage.entity_scores_repo import VERSION_OR_CURRENT_SQL, replace_rows
from finsent.storage.schema import SentenceScore

__all__ = ["SENTENCE_KEYS", "article_sentence_scores", "replace_sentence_scores"]

#: Keys of the dicts :func:`article_sentence_scores` returns.
SENTENCE_KEYS = (
    "idx",
    "char_start",
    "char_end",
    "text",
    "sentiment",
    "sentiment_probs",
    "score",
    "confidence",
    "model_version",
)


def replace_sentence_scores(
    conn: Connection,
    pairs: Iterable[tuple[str, str]],
    rows: Sequence[Mapping[str, Any]],
    *,
    copy: CopyBatch | bool | None = None,
) -> None:
    """Store a batch's sentence scores, replacing those of the same (article, model version).

    ``copy``: see :func:`~storage.entity_scores_repo.replace_rows`.

    Raises:
        StorageDataError: a row violates the schema (e.g. a negative offset).
    """
    replace_rows(conn, SentenceScore, pairs, rows, ("article_id", "model_version", "idx"), copy=copy)


_ARTICLE_SENTENCES = text(
    f"""
SELECT ss.* FROM sentence_scores ss
WHERE ss.article_id = :article_id AND ss.model_version = {VERSION_OR_CURRENT_SQL}
ORDER BY ss.idx
"""
)


def article_sentence_scores(
    conn: Connection, article_id: str, model_version: str | None = None
) -> list[dict[str, Any]]:
    """The sentence scores of one article in body order.

    Args:
        conn: a connection.
        article_id: the article.
        model_version: that version's rows; default: the article's current (latest) score version.

    Returns:
        Dicts with :data:`SENTENCE_KEYS` (empty for headline-only articles).
    """
    rows = conn.execute(_ARTICLE_SENTENCES, {"article_id": article_id, "version": model_version}).mappings()
    return [{k: (list(r[k]) if k == "sentiment_probs" else r[k]) for k in SENTENCE_KEYS} for r in rows]
