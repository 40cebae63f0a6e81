"""Read queries of the article endpoints of the HTTP API and live page.

Every value from a request reaches PostgreSQL as a bound parameter; the sort order comes from a
whitelist here, so no caller can put SQL text into a statement. Functions take a
:class:`~sqlalchemy.engine.Connection` and return plain dicts (JSON-ready apart from datetimes),
so the API layer stays a thin translation of HTTP to calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, true

from finsent.storage.paging import Page, count_rows
from finsent.storage.schema import Article, Label, Score

__all__ = ["ARTICLE_SORTS", "ArticleFilter", "get_article", "list_articles", "normalise_ticker"]

_PREVIEW_CHARS = 280


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
    "model_version",
    "topic",
    "topic_label",
    "sentiment",
    "score",
    "confidence",
    "sentiment_probs",
    "scored_at",
)
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
