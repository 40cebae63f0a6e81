"""Read endpoints over scored articles: the article listing, one article, the aggregate series."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request

from finsent.dashboards.api.deps import Conn, Range, ReadAuth, field_error, get_state
from finsent.dashboards.api.schemas import AggregatesOut, ArticleDetail, ArticlePage, Sentiment
from finsent.storage import aggregate_queries, article_queries
from finsent.storage.paging import Page

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["articles"], dependencies=[ReadAuth])

#: The sort whitelist of ``storage.article_queries.ARTICLE_SORTS`` (a unit test keeps them equal).
ArticleSort = Literal[
    "published_at", "-published_at", "scored_at", "-scored_at", "score", "-score", "confidence", "-confidence"
]
Bucket = Literal["1m", "5m", "1h", "1d"]

#: Default span of a series when no start is given, per bucket width.
DEFAULT_SPAN = {
    "1m": timedelta(hours=2),
    "5m": timedelta(hours=12),
    "1h": timedelta(days=7),
    "1d": timedelta(days=90),
}
MAX_POINTS = 10_000


def _next_offset(page: Page) -> int | None:
    nxt = page.offset + len(page.items)
    return nxt if nxt < page.total and page.items else None


@router.get("/articles", response_model=ArticlePage, summary="Scored articles, filtered and paginated")
def list_articles(
    conn: Conn,
    rng: Range,
    topic: Annotated[int | None, Query(ge=0, le=19, description="Topic id (0-19).")] = None,
    sentiment: Annotated[Sentiment | None, Query()] = None,
    ticker: Annotated[str | None, Query(min_length=1, max_length=32, description="e.g. AAPL")] = None,
    source: Annotated[str | None, Query(min_length=1, max_length=128, description="Source id.")] = None,
    q_: Annotated[
        str | None, Query(alias="q", min_length=1, max_length=200, description="Text in title or body.")
    ] = None,
    model_version: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    scored: Annotated[bool, Query(description="Only articles that have a score.")] = False,
    sort: Annotated[ArticleSort, Query(description="Sort key; '-' = descending.")] = "-published_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """List articles with the score currently shown for each (production model first)."""
    flt = article_queries.ArticleFilter(
        start=rng.start,
        end=rng.end,
        topic=topic,
        sentiment=sentiment,
        ticker=ticker,
        source=source,
        text=q_,
        model_version=model_version,
        scored_only=scored,
    )
    page = article_queries.list_articles(conn, flt, sort=sort, limit=limit, offset=offset)
    return {**page.__dict__, "next_offset": _next_offset(page)}


@router.get("/articles/{article_id}", response_model=ArticleDetail, summary="One article with its scores")
def get_article(conn: Conn, article_id: Annotated[str, Path(min_length=1, max_length=64)]) -> dict[str, Any]:
    """One article: body, entities, every model version's score and analysts' labels."""
    article = article_queries.get_article(conn, article_id)
    if article is None:
        raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
    return article


@router.get("/aggregates", response_model=AggregatesOut, summary="Sentiment and volume time series")
def aggregates(
    request: Request,
    conn: Conn,
    rng: Range,
    scope: Annotated[Literal["topic", "entity", "all"], Query()] = "all",
    bucket: Annotated[Bucket, Query(description="Bucket width.")] = "5m",
    key: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Topic id or name (scope=topic), ticker (entity)."),
    ] = None,
    max_series: Annotated[int, Query(ge=1, le=50, description="Entities when no key is given.")] = 10,
) -> dict[str, Any]:
    """Series re-bucketed from the per-minute aggregates: volume, sentiment counts, mean score."""
    state = get_state(request)
    start, end = rng.closed(DEFAULT_SPAN[bucket])
    if (end - start) / aggregate_queries.BUCKETS[bucket][1] > MAX_POINTS:
        raise field_error("query", "start", f"range too long for bucket {bucket} (max {MAX_POINTS} points)")
    if scope == "all" and key is not None:
        raise field_error("query", "key", "scope=all takes no key")
    if scope == "topic" and key is not None:
        key = _topic_key(key, state.topic_labels)
    query = aggregate_queries.AggregateQuery(
        scope=scope, bucket=bucket, start=start, end=end, key=key, max_series=max_series
    )
    series = aggregate_queries.aggregate_series(conn, query, state.topic_labels)
    return {"scope": scope, "bucket": bucket, "start": start, "end": end, "series": series}


def _topic_key(raw: str, labels: tuple[str, ...]) -> str:
    value = raw.strip()
    if value.isdigit() and 0 <= int(value) < max(len(labels), 20):
        return str(int(value))
    for i, label in enumerate(labels):
        if label.lower() == value.lower():
            return str(i)
    raise field_error("query", "key", "unknown topic: give an id 0-19 or a topic name")
