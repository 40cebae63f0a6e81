"""Per-entity sentiment of articles: write a batch's rows, read an article's.

One row per (article, entity, model version). A batch *replaces* the rows of each (article,
model version) it scores, so a re-delivered or re-scored article keeps exactly the latest set of
entities (an entity dropped by a changed cap does not linger) and a replay writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, TEXT

from finsent.storage.copy_writes import CopyBatch
from finsent.storage.exceptions import translate_errors
from finsent.storage.repository import bulk_upsert
from finsent.storage.schema import EntityScore

__all__ = [
    "ENTITY_KEYS",
    "VERSION_OR_CURRENT_SQL",
    "article_entity_scores",
    "replace_entity_scores",
    "replace_rows",
]

#: Keys of the dicts :func:`article_entity_scores` returns (``relevance`` 0..1, ``relevance_pct`` 0-100).
ENTITY_KEYS = (
    "entity",
    "model_version",
    "source",
    "relevance",
    "relevance_pct",
    "in_title",
    "mentions",
    "sentiment",
    "sentiment_probs",
    "score",
    "confidence",
)

_PAIRS = (bindparam("articles", type_=ARRAY(TEXT)), bindparam("versions", type_=ARRAY(TEXT)))


def replace_rows(
    conn: Connection,
    table: Any,
    pairs: Iterable[tuple[str, str]],
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
    *,
    copy: CopyBatch | bool | None = None,
) -> None:
    """Delete ``table``'s rows of each (article_id, model_version) pair, then insert ``rows``.

    Args:
        conn: connection inside the batch's transaction.
        table: an ORM class with ``article_id`` and ``model_version`` columns.
        pairs: the (article, version) pairs scored by the batch (repeats fine).
        rows: the new rows (their pairs should be among ``pairs``).
        key: the table's primary key (rows sharing it collapse, the last one winning).
        copy: send the rows through this transaction's ``COPY`` batch (fast path; ``True``: a
            batch of their own) instead of a multi-row ``INSERT`` (``None`` / ``False``).
    """
    unique = sorted(set(pairs))
    if unique:
        stmt = text(
            f"DELETE FROM {table.__tablename__} t USING unnest(:articles, :versions) AS p(a, v) "
            "WHERE t.article_id = p.a AND t.model_version = p.v"
        ).bindparams(*_PAIRS)
        with translate_errors(f"replace rows of {table.__tablename__}"):
            conn.execute(stmt, {"articles": [a for a, _ in unique], "versions": [v for _, v in unique]})
    if rows and copy is True:
        copy = CopyBatch(conn, [table])
    if rows and isinstance(copy, CopyBatch):
        copy.insert_new(table, rows, key)
    elif rows:
        bulk_upsert(conn, table, rows, key)


def replace_entity_scores(
    conn: Connection,
    pairs: Iterable[tuple[str, str]],
    rows: Sequence[Mapping[str, Any]],
    *,
    copy: CopyBatch | bool | None = None,
) -> None:
    """Store a batch's entity scores, replacing those of the same (article, model version).

    Args:
        conn: connection inside the batch's transaction.
        pairs: the (article_id, model_version) pairs the batch scored.
        rows: ``entity_scores`` rows (see :class:`~storage.schema.EntityScore`).
        copy: see :func:`replace_rows`.

    Raises:
        StorageDataError: a row violates the schema (e.g. relevance outside [0, 1]).
    """
    replace_rows(conn, EntityScore, pairs, rows, ("article_id", "entity", "model_version"), copy=copy)


#: ``:version``, else the version of the article's current (latest) score.
VERSION_OR_CURRENT_SQL = """COALESCE(CAST(:version AS text), (
    SELECT s.model_version FROM scores s WHERE s.article_id = :article_id
    ORDER BY s.scored_at DESC, s.model_version DESC LIMIT 1))"""

_ARTICLE_ENTITIES = text(
    f"""
SELECT es.* FROM entity_scores es
WHERE es.article_id = :article_id AND es.model_version = {VERSION_OR_CURRENT_SQL}
ORDER BY es.relevance DESC, es.entity
"""
)


def article_entity_scores(
    conn: Connection, article_id: str, model_version: str | None = None
) -> list[dict[str, Any]]:
    """The entity scores of one article, most relevant first.

    Args:
        conn: a connection.
        article_id: the article.
        model_version: that version's rows; default: the article's current (latest) score version.

    Returns:
        Dicts with :data:`ENTITY_KEYS` (empty when the version wrote no entity rows).
    """
    rows = conn.execute(_ARTICLE_ENTITIES, {"article_id": article_id, "version": model_version}).mappings()
    return [entity_view(dict(r)) for r in rows]


def entity_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored entity-score row as the API shows it (relevance also as 0-100)."""
    out = {k: row[k] for k in ENTITY_KEYS if k != "relevance_pct"}
    out["relevance_pct"] = round(100 * float(row["relevance"]))
    out["sentiment_probs"] = list(row["sentiment_probs"])
    return out
