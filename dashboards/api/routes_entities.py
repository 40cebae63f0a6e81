"""The entity view: one company's relevance-weighted sentiment, volume and latest articles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query

from finsent.dashboards.api.deps import Conn, Range, ReadAuth, field_error
from finsent.dashboards.api.routes_articles import DEFAULT_SPAN, MAX_POINTS, Bucket
from finsent.dashboards.api.schemas import EntityOut
from finsent.storage import aggregate_queries, entity_queries
from finsent.storage.article_queries import normalise_ticker

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["entities"], dependencies=[ReadAuth])

Ticker = Annotated[
    str,
    Path(
        min_length=1,
        max_length=33,
        pattern=r"^\$?[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$",
        description="Ticker, e.g. AAPL (a leading $ and lower case are accepted).",
    ),
]


@router.get(
    "/entities/{ticker}",
    response_model=EntityOut,
    summary="One entity: sentiment index, volume and latest articles with its own scores",
    responses={404: {"description": "No stored article names this ticker"}},
)
def get_entity(
    conn: Conn,
    rng: Range,
    ticker: Ticker,
    bucket: Annotated[Bucket, Query(description="Bucket width of the series.")] = "5m",
    limit: Annotated[int, Query(ge=1, le=100, description="How many latest articles.")] = 20,
) -> dict[str, Any]:
    """The entity's series (relevance-weighted mean score, volume) over ``[start, end)``.

    Also its totals and its latest articles in the range, each with the entity's relevance
    (0-100) and its own score (``source='document'`` where the article's score stands in).
    """
    key = normalise_ticker(ticker)
    if not entity_queries.entity_seen(conn, key):
        raise HTTPException(status_code=404, detail=f"unknown ticker {key!r}: no stored article names it")
    start, end = rng.closed(DEFAULT_SPAN[bucket])
    if (end - start) / aggregate_queries.BUCKETS[bucket][1] > MAX_POINTS:
        raise field_error("query", "start", f"range too long for bucket {bucket} (max {MAX_POINTS} points)")
    query = aggregate_queries.AggregateQuery(scope="entity", bucket=bucket, start=start, end=end, key=key)
    series = aggregate_queries.aggregate_series(conn, query)
    summary = entity_queries.entity_summary(conn, key, start, end)
    summary["negative_share"] = summary["n_negative"] / summary["n"] if summary["n"] else None
    articles = entity_queries.latest_entity_articles(conn, key, start, end, limit=limit)
    for article in articles:
        article["relevance"] = round(100 * article["relevance"])
    return {
        "ticker": key,
        "name": entity_queries.entity_name(conn, key),
        "start": start,
        "end": end,
        "bucket": bucket,
        "summary": summary,
        "points": series[0]["points"] if series else [],
        "articles": articles,
    }
