"""Read queries behind finsent's HTTP API and live page.

Every value from a request reaches PostgreSQL as a bound parameter; the few things that cannot be
bound (sort order, bucket width) are looked up in whitelists here, so no caller can put SQL text
into a statement. Functions take a :class:`~sqlalchemy.engine.Connection` and return plain dicts
(JSON-ready apart from datetimes), so the API layer stays a thin translation of HTTP to calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    true,
)

from finsent.storage.schema import (
    AggEntity,
    AggTopic,
    Alert,
    Article,
    DeadLetter,
    Label,
    ModelVersion,
    Score,
)

__all__ = [
    "ARTICLE_SORTS",
    "BUCKETS",
    "AggregateQuery",
    "ArticleFilter",
    "Page",
    "aggregate_series",
    "count_rows",
    "get_article",
    "list_articles",
    "normalise_ticker",
    "pipeline_counts",
]

#: Bucket widths of ``GET /api/aggregates``: name -> (SQL interval literal, width).
BUCKETS: dict[str, tuple[str, timedelta]] = {
    "1m": ("INTERVAL '1 minute'", timedelta(minutes=1)),
    "5m": ("INTERVAL '5 minutes'", timedelta(minutes=5)),
    "1h": ("INTERVAL '1 hour'", timedelta(hours=1)),
    "1d": ("INTERVAL '1 day'", timedelta(days=1)),
}
_ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"  # a Monday, midnight UTC: buckets align to the clock

_PREVIEW_CHARS = 280


@dataclass(frozen=True)
class Page:
    """One page of a listing."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class ArticleFilter:
    """Filters of the article listing; ``None`` means "any"."""

    start: datetime | None = None
    end: datetime | None = None
    topic: int | None = None
    sentiment: str | None = None
    ticker: str | None = None
    source: str | None = None
    text: str | None = None
    model_version: str | None = None
    scored_only: bool = False


@dataclass(frozen=True)
class AggregateQuery:
    """What ``aggregate_series`` returns: scope, optional key, bucket name and the half-open range."""

    scope: str  # topic | entity | all
    bucket: str  # a key of BUCKETS
    start: datetime
    end: datetime
    key: str | None = None
    max_series: int = 20


# --- articles -------------------------------------------------------------------------------------


def _production_version() -> Any:
    return select(ModelVersion.version).where(ModelVersion.status == "production").limit(1).scalar_subquery()


def _current_score(model_version: str | None) -> Any:
    """Lateral subquery: the score shown for an article.

    The newest score (ties: the higher version id), the same rule ``storage.aggregates`` counts
    by, so the listing and the charts agree; or the given model version's score.
    """
    stmt = select(Score).where(Score.article_id == Article.id)
    if model_version is not None:
        stmt = stmt.where(Score.model_version == model_version)
    return stmt.order_by(Score.scored_at.desc(), Score.model_version.desc()).limit(1).lateral("cur")


def _escape_like(raw: str) -> str:
    return raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def normalise_ticker(raw: str) -> str:
    """``$aapl`` -> ``AAPL`` (tickers are stored upper-case without the cashtag sign)."""
    return raw.strip().lstrip("$").upper()


def _article_conditions(flt: ArticleFilter, cur: Any) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.start is not None:
        conds.append(Article.published_at >= flt.start)
    if flt.end is not None:
        conds.append(Article.published_at < flt.end)
    if flt.source is not None:
        conds.append(Article.source_id == flt.source)
    if flt.ticker is not None:
        conds.append(Article.tickers.contains([normalise_ticker(flt.ticker)]))
    if flt.text is not None and flt.text.strip():
        pattern = "%" + _escape_like(flt.text.strip()) + "%"
        conds.append(or_(Article.title.ilike(pattern, escape="\\"), Article.body.ilike(pattern, escape="\\")))
    if flt.topic is not None:
        conds.append(cur.c.topic == flt.topic)
    if flt.sentiment is not None:
        conds.append(cur.c.sentiment == flt.sentiment)
    if flt.scored_only or flt.topic is not None or flt.sentiment is not None or flt.model_version:
        conds.append(cur.c.article_id.is_not(None))
    return conds


_SCORE_KEYS = (
    "model_version", "topic", "topic_label", "sentiment", "score", "confidence", "sentiment_probs",
    "scored_at",
)  # fmt: skip
_LABEL_KEYS = ("id", "topic", "sentiment", "labeled_by", "labeled_at")


def _score_columns(cur: Any) -> list[Any]:
    return [cur.c[k] for k in _SCORE_KEYS]


def _article_columns() -> list[Any]:
    return [
        Article.id,
        Article.source_id,
        Article.url,
        Article.canonical_url,
        Article.title,
        func.left(Article.body, _PREVIEW_CHARS).label("summary"),
        Article.published_at,
        Article.fetched_at,
        Article.language,
        Article.tickers,
        Article.novelty,
    ]


#: Sort keys of ``GET /api/articles`` (``-`` = descending); the article id breaks ties.
ARTICLE_SORTS: dict[str, tuple[str, bool]] = {
    "published_at": ("published_at", False),
    "-published_at": ("published_at", True),
    "scored_at": ("scored_at", False),
    "-scored_at": ("scored_at", True),
    "score": ("score", False),
    "-score": ("score", True),
    "confidence": ("confidence", False),
    "-confidence": ("confidence", True),
}


def _score_view(row: dict[str, Any]) -> dict[str, Any] | None:
    return None if row.get("model_version") is None else {k: row[k] for k in _SCORE_KEYS}


def _article_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "source_id", "url", "canonical_url", "title", "summary", "published_at")
    out = {k: row[k] for k in keys}
    out.update(
        fetched_at=row["fetched_at"],
        language=row["language"],
        tickers=list(row["tickers"] or []),
        novelty=row["novelty"],
        score=_score_view(row),
    )
    return out


def list_articles(
    conn: Connection,
    flt: ArticleFilter,
    *,
    sort: str = "-published_at",
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Articles matching ``flt`` with their current score, newest first by default.

    Raises:
        KeyError: ``sort`` is not a key of :data:`ARTICLE_SORTS`.
    """
    column, descending = ARTICLE_SORTS[sort]
    cur = _current_score(flt.model_version)
    conds = _article_conditions(flt, cur)
    base = select(*_article_columns(), *_score_columns(cur)).select_from(Article).outerjoin(cur, true())
    base = base.where(and_(true(), *conds))
    sort_col = Article.published_at if column == "published_at" else getattr(cur.c, column)
    order = sort_col.desc().nulls_last() if descending else sort_col.asc().nulls_last()
    page_stmt = base.order_by(order, Article.id.desc()).limit(limit).offset(offset)
    rows = [_article_view(dict(r._mapping)) for r in conn.execute(page_stmt)]
    total = count_rows(conn, base)
    return Page(items=rows, total=total, limit=limit, offset=offset)


def count_rows(conn: Connection, stmt: Select[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())


def get_article(conn: Connection, article_id: str) -> dict[str, Any] | None:
    """One article with its full body, current score and every model version's score."""
    cur = _current_score(None)
    stmt = (
        select(*_article_columns(), Article.body, Article.entities, Article.cluster_id, *_score_columns(cur))
        .select_from(Article)
        .outerjoin(cur, true())
        .where(Article.id == article_id)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    mapping = dict(row._mapping)
    out = _article_view(mapping)
    out.update(body=mapping["body"], entities=mapping["entities"], cluster_id=mapping["cluster_id"])
    scores = conn.execute(
        select(Score).where(Score.article_id == article_id).order_by(Score.scored_at.desc())
    ).mappings()
    out["scores"] = [{k: sc[k] for k in (*_SCORE_KEYS, "topic_probs")} for sc in scores]
    labels = conn.execute(select(Label).where(Label.article_id == article_id).order_by(Label.id))
    out["labels"] = [{k: lab[k] for k in _LABEL_KEYS} for lab in labels.mappings()]
    return out


# --- aggregates -----------------------------------------------------------------------------------


def aggregate_series(
    conn: Connection,
    query: AggregateQuery,
    topic_labels: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Time series of sentiment and volume re-bucketed from the per-minute aggregate tables.

    ``scope='topic'`` gives one series per topic (or only ``key``, a topic id), ``'entity'`` one per
    entity (only ``key`` if given, else the ``max_series`` busiest in the range), ``'all'`` the
    all-topics series. Each point: ``t`` (bucket start), ``n``, ``n_negative``, ``n_neutral``,
    ``n_positive``, ``mean_score`` (entity: relevance-weighted) and ``negative_share``.

    Raises:
        KeyError: ``query.bucket`` is not a key of :data:`BUCKETS` or ``query.scope`` is unknown.
    """
    interval: Any = literal_column(BUCKETS[query.bucket][0])
    if query.scope == "entity":
        table: Any = AggEntity
        key_col: Any = AggEntity.entity
        mean = func.sum(AggEntity.weighted_mean_score * AggEntity.weight_sum) / func.nullif(
            func.sum(AggEntity.weight_sum), 0
        )
    elif query.scope in ("topic", "all"):
        table, key_col = AggTopic, AggTopic.topic
        mean = func.sum(AggTopic.sum_score) / func.nullif(func.sum(AggTopic.n), 0)
    else:
        raise KeyError(query.scope)
    t = func.date_bin(interval, table.bucket, literal_column(_ORIGIN)).label("t")
    conds = [table.bucket >= query.start, table.bucket < query.end]
    if query.scope == "all":
        conds.append(AggTopic.topic == -1)
    elif query.scope == "topic":
        conds.append(AggTopic.topic >= 0)
        if query.key is not None:
            conds.append(AggTopic.topic == int(query.key))
    elif query.key is not None:
        conds.append(AggEntity.entity == normalise_ticker(query.key))
    else:
        busiest = (
            select(AggEntity.entity)
            .where(*conds)
            .group_by(AggEntity.entity)
            .order_by(func.sum(AggEntity.n).desc(), AggEntity.entity)
            .limit(query.max_series)
        )
        conds.append(AggEntity.entity.in_(busiest.scalar_subquery()))
    stmt = (
        select(
            key_col.label("key"),
            t,
            func.sum(table.n).label("n"),
            func.sum(table.n_negative).label("n_negative"),
            func.sum(table.n_neutral).label("n_neutral"),
            func.sum(table.n_positive).label("n_positive"),
            mean.label("mean_score"),
        )
        .where(*conds)
        .group_by(key_col, literal_column("t"))
        .order_by(key_col, literal_column("t"))
    )
    return _group_series(conn.execute(stmt), query.scope, topic_labels)


def _group_series(rows: Any, scope: str, topic_labels: Sequence[str]) -> list[dict[str, Any]]:
    series: dict[Any, dict[str, Any]] = {}
    for row in rows.mappings():
        key = row["key"]
        if key not in series:
            label = str(key)
            if scope == "all":
                label = "all topics"
            elif scope == "topic" and 0 <= int(key) < len(topic_labels):
                label = topic_labels[int(key)]
            series[key] = {"key": "all" if scope == "all" else str(key), "label": label, "points": []}
        n, n_negative, mean = int(row["n"]), int(row["n_negative"]), row["mean_score"]
        series[key]["points"].append(
            {
                "t": row["t"],
                "n": n,
                "n_negative": n_negative,
                "n_neutral": int(row["n_neutral"]),
                "n_positive": int(row["n_positive"]),
                "mean_score": None if mean is None else float(mean),
                "negative_share": (n_negative / n) if n else None,
            }
        )
    return list(series.values())


def pipeline_counts(conn: Connection) -> dict[str, Any]:
    """Figures for health and metrics: totals, open alerts, dead letters, newest score time."""
    row = conn.execute(
        select(
            select(func.count()).select_from(Article).scalar_subquery().label("articles"),
            select(func.count()).select_from(Score).scalar_subquery().label("scores"),
            select(func.max(Score.scored_at)).scalar_subquery().label("last_scored_at"),
            select(func.count())
            .select_from(Alert)
            .where(Alert.status == "open")
            .scalar_subquery()
            .label("open_alerts"),
            select(func.count()).select_from(DeadLetter).scalar_subquery().label("dead_letters"),
            _production_version().label("production_version"),
        )
    ).one()
    return dict(row._mapping)
