"""Labels in and the labeling queue: app-shell wiring of ``models.retrain`` and ``storage``.

* :func:`store_labels` -- the Python API: validated labels (``models.retrain.validate_label``)
  are stored; a label naming an article gets the article's title and lead as its text when it
  has none; labels naming unknown articles are rejected with their line.
* :func:`import_labels` -- a CSV / JSONL file: good rows stored in one transaction, bad rows
  returned with their line numbers.
* :func:`label_queue` -- the articles most worth labeling (``models.retrain.rank_candidates``):
  production's least certain scores and the articles on which the current and the previous
  production model disagree most.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine

from finsent.lifecycle import Candidate, LabelRow, Proposal, rank_candidates, read_label_file
from finsent.models.data import BadRow
from finsent.models.text import compose_text
from finsent.storage import labels_repo

__all__ = ["ImportResult", "import_labels", "label_queue", "previous_production", "store_labels"]

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    """Ids of the labels stored and the rows rejected (with line numbers)."""

    source: str
    stored: list[int] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)


def store_labels(
    engine: Engine, rows: Sequence[LabelRow], *, origin: str = "api", source: str = "api"
) -> ImportResult:
    """Store validated labels in one transaction; rows naming unknown articles are rejected.

    Args:
        engine: The database.
        rows: Labels from :func:`models.retrain.validate_label` or :func:`read_label_file`.
        origin: Stored in ``labels.origin`` (``api``, ``import``...).
        source: Name used in the rejected rows (a file name).
    """
    result = ImportResult(source=source)
    with engine.begin() as conn:
        articles = labels_repo.article_texts(conn, {r.article_id for r in rows if r.article_id})
        ready: list[dict[str, Any]] = []
        for row in rows:
            data = row.as_row(origin)
            if row.article_id is not None:
                if row.article_id not in articles:
                    result.bad_rows.append(BadRow(source, row.line, f"unknown article_id {row.article_id!r}"))
                    continue
                if row.text is None:
                    data["text"] = compose_text(*articles[row.article_id])
            if not data["text"]:
                result.bad_rows.append(BadRow(source, row.line, "the article has no text to label"))
                continue
            ready.append(data)
        result.stored = labels_repo.insert_labels(conn, ready)
    return result


def import_labels(
    engine: Engine,
    path: str | Path,
    *,
    default_by: str | None,
    fmt: Literal["auto", "csv", "jsonl"] = "auto",
) -> ImportResult:
    """Validate a label file and store its good rows (see :func:`models.retrain.read_label_file`).

    Raises:
        DataFormatError: The file is missing or has no usable header.
    """
    parsed = read_label_file(path, fmt=fmt, default_by=default_by)
    result = store_labels(engine, parsed.rows, origin="import", source=parsed.source)
    result.bad_rows = sorted(parsed.bad_rows + result.bad_rows, key=lambda b: b.line)
    return result


def previous_production(registry: Any) -> Any | None:
    """The version that was production before the current one (None if there is none)."""
    records = registry.list()
    current = next((r for r in records if r.status == "production"), None)
    if current is None or current.promoted_at is None:
        return None
    earlier = [
        r
        for r in records
        if r.version != current.version and r.promoted_at is not None and r.promoted_at < current.promoted_at
    ]
    return max(earlier, key=lambda r: r.promoted_at) if earlier else None


def label_queue(
    engine: Engine,
    registry: Any,
    *,
    n: int = 50,
    days: float = 14.0,
    pool: int = 5000,
    score_previous: bool = True,
    load_kwargs: dict[str, Any] | None = None,
) -> list[Proposal]:
    """The ``n`` unlabeled recent articles most worth labeling.

    Args:
        engine: The database.
        registry: The model registry (production and previous versions).
        n: How many to propose.
        days: Only articles published in the last ``days``.
        pool: Newest scored articles considered.
        score_previous: Score candidates the previous production model never scored (loads it).
        load_kwargs: Extra arguments of ``Classifier.load`` for the previous model.
    """
    production = registry.production()
    if production is None:
        return []
    previous = previous_production(registry)
    since = datetime.now(UTC) - timedelta(days=days)
    with engine.connect() as conn:
        rows = labels_repo.queue_candidates(
            conn,
            version=production.version,
            previous_version=previous.version if previous else None,
            since=since,
            limit=pool,
        )
    texts = [compose_text(r["title"], r["body"]) for r in rows]
    if previous is not None and score_previous:
        _fill_previous(rows, texts, previous.path, load_kwargs or {})
    candidates = [
        Candidate(
            article_id=r["article_id"],
            text=t,
            sentiment_probs=r["sentiment_probs"],
            topic_probs=r["topic_probs"],
            prev_sentiment_probs=r["prev_sentiment_probs"],
            prev_topic_probs=r["prev_topic_probs"],
            published_ts=r["published_at"].timestamp(),
        )
        for r, t in zip(rows, texts, strict=True)
    ]
    return rank_candidates(candidates, n)


def _fill_previous(rows: list[dict[str, Any]], texts: list[str], path: str, kwargs: dict[str, Any]) -> None:
    missing = [i for i, r in enumerate(rows) if r["prev_sentiment_probs"] is None and texts[i].strip()]
    if not missing or not Path(path).is_dir():
        return
    from finsent.models.inference import Classifier

    try:
        clf = Classifier.load(path, **kwargs)
        scores = clf.predict([texts[i] for i in missing])
    except Exception:  # disagreement is a bonus; uncertainty alone still ranks the queue
        log.warning("could not score the queue with the previous model %s", path, exc_info=True)
        return
    for i, score in zip(missing, scores, strict=True):
        rows[i]["prev_sentiment_probs"] = score.sentiment_probs
        rows[i]["prev_topic_probs"] = score.topic_probs
