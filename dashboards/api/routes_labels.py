"""Labelling workflow (label queue, new labels) and the model registry (list, promote)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request

from finsent.dashboards.api.deps import Conn, ReadAuth, WriteAuth, field_error, get_state
from finsent.dashboards.api.schemas import LabelIn, LabelOut, LabelQueueOut, ModelOut, Sentiment
from finsent.lifecycle import LabelError, UnknownArticleError, labeling
from finsent.storage import model_versions
from finsent.storage.model_versions import SqlModelIndex

__all__ = ["router"]

router = APIRouter(prefix="/api")


@router.post(
    "/labels",
    response_model=LabelOut,
    status_code=201,
    dependencies=[WriteAuth],
    tags=["labels"],
    summary="Store an analyst's label",
    responses={404: {"description": "No such article"}},
)
def create_label(conn: Conn, body: LabelIn) -> dict[str, Any]:
    """Store a topic and/or sentiment label for an article or a free text (used by retraining).

    Same checks as ``finsent labels import``; a label for an article without a text gets the
    article's title and lead (the text the models score).
    """
    try:
        return labeling.store_label(conn=conn, data=body.model_dump())
    except UnknownArticleError:
        raise HTTPException(status_code=404, detail=f"no article {body.article_id!r}") from None
    except LabelError as exc:
        raise field_error("body", "text" if "text" in str(exc) else "label", str(exc)) from None


@router.get(
    "/labels/queue",
    response_model=LabelQueueOut,
    dependencies=[ReadAuth],
    tags=["labels"],
    summary="Articles to label next (active learning)",
)
def label_queue(
    conn: Conn,
    topic: Annotated[int | None, Query(ge=0, le=19, description="Predicted topic.")] = None,
    sentiment: Annotated[Sentiment | None, Query(description="Predicted sentiment.")] = None,
    days: Annotated[float, Query(gt=0, le=365, description="Articles published in the last days.")] = 14,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> dict[str, Any]:
    """Unlabelled articles ranked like ``finsent labels queue``: least certain first.

    The API never loads a model: disagreement counts where the previous production model
    already scored the article.
    """
    queue = labeling.label_queue(conn=conn, days=days, topic=topic, sentiment=sentiment)
    return {
        "model_version": queue.model_version,
        "previous_version": queue.previous_version,
        "items": [item.as_dict() for item in queue.items[offset : offset + limit]],
        "candidates": len(queue.items),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/models",
    response_model=list[ModelOut],
    dependencies=[ReadAuth],
    tags=["models"],
    summary="Registered model versions",
)
def list_models(
    conn: Conn,
    status: Annotated[str | None, Query(min_length=1, max_length=16, description="e.g. production")] = None,
) -> list[dict[str, Any]]:
    """The registry, production version first, with each version's evaluation metrics."""
    return model_versions.list_models(conn, status=status)


@router.post(
    "/models/{version}/promote",
    response_model=ModelOut,
    dependencies=[WriteAuth],
    tags=["models"],
    summary="Make a version the production model",
    responses={404: {"description": "No such version"}},
)
def promote(request: Request, version: Annotated[str, Path(min_length=1, max_length=64)]) -> dict[str, Any]:
    """Promote a registered version (the previous production one is archived, in one transaction).

    The same registry operation as ``finsent models promote``; workers pick the new version up
    on their next registry check.
    """
    engine = get_state(request).engine
    if not SqlModelIndex(engine).promote(version):
        raise HTTPException(status_code=404, detail=f"no model version {version!r}")
    with engine.connect() as conn:
        return next(m for m in model_versions.list_models(conn) if m["version"] == version)
