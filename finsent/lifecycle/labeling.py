"""Labels in and the labeling queue: the one implementation the CLI, the HTTP API and tests share.

Keyword-only domain functions on a database connection (the caller owns the transaction):

* :func:`store_labels` -- validated labels (:func:`~finsent.lifecycle.validate_label`) are
  stored; a label naming an article gets the article's title and lead as its text when it has
  none; labels naming unknown articles, or articles without text, are rejected with their line;
* :func:`store_label` -- one label given as a mapping (``POST /api/labels``): validated and
  stored, or rejected with :class:`~finsent.lifecycle.LabelError`;
* :func:`import_labels` -- a CSV / JSONL file: good rows stored, bad rows returned with their
  line numbers (``finsent labels import``);
* :func:`label_queue` -- the unlabeled recent articles most worth labeling
  (:func:`~finsent.lifecycle.rank_candidates`): production's least certain scores and the
  articles on which the current and the previous production model disagree most
  (``finsent labels queue``, ``GET /api/labels/queue``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection

from finsent.lifecycle.active import Candidate, Proposal, rank_candidates
from finsent.lifecycle.exceptions import LabelError, UnknownArticleError
from finsent.lifecycle.labels_io import LabelRow, read_label_file, validate_label
from finsent.models.data import BadRow
from finsent.models.labels import TOPIC_LABELS
from finsent.models.text import compose_text
from finsent.storage import labels_repo, model_versions

__all__ = [
    "QUEUE_POOL",
    "ImportResult",
    "LabelQueue",
    "QueueItem",
    "import_labels",
    "label_queue",
    "store_label",
    "store_labels",
]

log = logging.getLogger(__name__)

#: Newest unlabeled scored articles the queue ranks.
QUEUE_POOL = 5000


@dataclass
class ImportResult:
    """Ids of the labels stored and the rows rejected (with line numbers)."""

    source: str
    stored: list[int] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)


@dataclass(frozen=True)
class QueueItem:
    """A proposal with what a reviewer needs to see of its article."""

    proposal: Proposal
    title: str
    published_at: datetime
    url: str | None

    def as_dict(self) -> dict[str, Any]:
        """The proposal's fields plus ``topic_label``, ``title``, ``published_at`` and ``url``."""
        extra = {"title": self.title, "published_at": self.published_at, "url": self.url}
        return {**asdict(self.proposal), "topic_label": TOPIC_LABELS[self.proposal.topic], **extra}


@dataclass(frozen=True)
class LabelQueue:
    """The ranked queue (every candidate that passed the filters, highest priority first)."""

    model_version: str | None
    previous_version: str | None
    items: list[QueueItem]


def _ready(row: LabelRow, articles: Mapping[str, tuple[str, str]], origin: str) -> dict[str, Any]:
    """The ``labels`` row of ``row``; the text of its article when it has none.

    Raises:
        UnknownArticleError: ``row`` names an article that is not stored.
        LabelError: the label has no text to learn from.
    """
    data = row.as_row(origin)
    if row.article_id is not None:
        if row.article_id not in articles:
            raise UnknownArticleError(f"unknown article_id {row.article_id!r}")
        if row.text is None:
            data["text"] = compose_text(*articles[row.article_id])
    if not data["text"]:
        raise LabelError("the article has no text to label")
    return data


def store_labels(
    *, conn: Connection, rows: Sequence[LabelRow], origin: str = "api", source: str = "api"
) -> ImportResult:
    """Store validated labels; rows naming unknown articles or without any text are rejected.

    Args:
        conn: The database connection (its transaction holds every row or none).
        rows: Labels from :func:`validate_label` or :func:`read_label_file`.
        origin: Stored in ``labels.origin`` (``api``, ``import``...).
        source: Name used in the rejected rows (a file name).
    """
    result = ImportResult(source=source)
    articles = labels_repo.article_texts(conn, {r.article_id for r in rows if r.article_id})
    ready: list[dict[str, Any]] = []
    for row in rows:
        try:
            ready.append(_ready(row, articles, origin))
        except LabelError as exc:
            result.bad_rows.append(BadRow(source, row.line, str(exc)))
    result.stored = labels_repo.insert_labels(conn, ready)
    return result


def store_label(*, conn: Connection, data: Mapping[str, Any], origin: str = "api") -> dict[str, Any]:
    """Validate and store one label given as a mapping (same rules as :func:`store_labels`).

    Returns:
        The stored label (every column of ``labels``).

    Raises:
        UnknownArticleError: ``article_id`` names no stored article.
        LabelError: the label is unusable (the message says why).
    """
    row = validate_label(data)
    articles = labels_repo.article_texts(conn, {row.article_id} if row.article_id else set())
    (label_id,) = labels_repo.insert_labels(conn, [_ready(row, articles, origin)])
    stored = labels_repo.get_label(conn, label_id)
    assert stored is not None  # just inserted in this transaction
    return stored


def import_labels(
    *,
    conn: Connection,
    path: str | Path,
    default_by: str | None,
    fmt: Literal["auto", "csv", "jsonl"] = "auto",
) -> ImportResult:
    """Validate a label file and store its good rows (see :func:`read_label_file`).

    Raises:
        DataFormatError: The file is missing or has no usable header.
    """
    parsed = read_label_file(path, fmt=fmt, default_by=default_by)
    result = store_labels(conn=conn, rows=parsed.rows, origin="import", source=parsed.source)
    result.bad_rows = sorted(parsed.bad_rows + result.bad_rows, key=lambda b: b.line)
    return result


def label_queue(
    *,
    conn: Connection,
    days: float = 14.0,
    pool: int = QUEUE_POOL,
    topic: int | None = None,
    sentiment: str | None = None,
    score_previous: bool = False,
    load_kwargs: Mapping[str, Any] | None = None,
) -> LabelQueue:
    """The unlabeled recent articles most worth labeling, highest priority first.

    Args:
        conn: The database connection.
        days: Only articles published in the last ``days``.
        pool: Newest scored articles considered.
        topic: Only articles the production model puts in this topic.
        sentiment: Only articles the production model gives this sentiment.
        score_previous: Score the candidates the previous production model never scored (loads
            that model; the HTTP API never does).
        load_kwargs: Extra arguments of ``Classifier.load`` for the previous model.
    """
    production = model_versions.production_version(conn)
    if production is None:
        return LabelQueue(None, None, [])
    previous = model_versions.previous_production(conn)
    rows = labels_repo.queue_candidates(
        conn,
        version=production["version"],
        previous_version=previous["version"] if previous else None,
        since=datetime.now(UTC) - timedelta(days=days),
        limit=pool,
    )
    texts = [compose_text(r["title"], r["body"]) for r in rows]
    if previous is not None and score_previous:
        _fill_previous(rows, texts, previous["path"], dict(load_kwargs or {}))
    by_id = {r["article_id"]: r for r in rows}
    ranked = [
        p
        for p in rank_candidates(map(_candidate, rows, texts), len(rows))
        if (topic is None or p.topic == topic) and (sentiment is None or p.sentiment == sentiment)
    ]
    items = [_item(p, by_id[p.article_id]) for p in ranked]
    return LabelQueue(production["version"], previous["version"] if previous else None, items)


def _candidate(row: Mapping[str, Any], text: str) -> Candidate:
    return Candidate(
        article_id=row["article_id"],
        text=text,
        sentiment_probs=row["sentiment_probs"],
        topic_probs=row["topic_probs"],
        prev_sentiment_probs=row["prev_sentiment_probs"],
        prev_topic_probs=row["prev_topic_probs"],
        published_ts=row["published_at"].timestamp(),
    )


def _item(proposal: Proposal, row: Mapping[str, Any]) -> QueueItem:
    return QueueItem(proposal, row["title"], row["published_at"], row["url"])


def _fill_previous(rows: list[dict[str, Any]], texts: list[str], path: str, kwargs: dict[str, Any]) -> None:
    missing = [i for i, r in enumerate(rows) if r["prev_sentiment_probs"] is None and texts[i].strip()]
    if not missing or not Path(path).is_dir():
        return
    from finsent.models.inference import Classifier  # heavy (torch): only when the CLI scores

    try:
        clf = Classifier.load(path, **kwargs)
        scores = clf.predict([texts[i] for i in missing])
    except Exception:  # disagreement is a bonus; uncertainty alone still ranks the queue
        log.warning("could not score the queue with the previous model %s", path, exc_info=True)
        return
    for i, score in zip(missing, scores, strict=True):
        rows[i]["prev_sentiment_probs"] = score.sentiment_probs
        rows[i]["prev_topic_probs"] = score.topic_probs
