"""``GET /api/articles/{id}/explain``: the sentences and words that moved an article's sentiment.

Computed on request (never in the stream) by occlusion with the production model
(:mod:`finsent.models.explain`); the units are the headline and the body's sentences as the
stream scores them: the sentences stored with the article where there are any, else the stream's
splitter, rolled up with the stream's formula (:mod:`finsent.stream.rollup`).
"""

from __future__ import annotations

import threading
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request

from finsent.dashboards.api.deps import Conn, ReadAuth
from finsent.models.explain import explain
from finsent.storage import article_queries, model_versions, sentence_scores_repo
from finsent.stream.units import article_units

__all__ = ["ExplainerCache", "router"]

router = APIRouter(prefix="/api", tags=["articles"], dependencies=[ReadAuth])


class ExplainerCache:
    """The classifier explanations use, loaded on first use (the API may never need one)."""

    def __init__(self, *, device: str = "auto", cpu_backend: str = "auto", max_length: int = 128) -> None:
        self.device, self.cpu_backend, self.max_length = device, cpu_backend, max_length
        self._lock = threading.Lock()
        self._loaded: tuple[str, Any] | None = None

    def get(self, path: str) -> Any:
        """The classifier of the version at ``path`` (reloaded when the production path changes)."""
        from finsent.models.inference import Classifier

        with self._lock:
            if self._loaded is None or self._loaded[0] != path:
                clf = Classifier.load(
                    path, device=self.device, cpu_backend=self.cpu_backend, max_length=self.max_length
                )
                self._loaded = (path, clf)
            return self._loaded[1]


def _model_path(conn: Any) -> str:
    from finsent.models.registry import DEFAULT_MODEL_DIR

    row = model_versions.production_version(conn)
    path = row.get("path") if row else None
    return str(path) if path and FsPath(str(path)).is_dir() else str(DEFAULT_MODEL_DIR)


@router.get("/articles/{article_id}/explain", summary="Why an article scored as it did (occlusion)")
def explain_article(
    request: Request, conn: Conn, article_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> dict[str, Any]:
    """The article's sentences with their scores and effect on the whole, and the words of the top
    sentences that moved them most (``models.explain`` documents the method)."""
    from finsent.stream.rollup import rollup

    article = article_queries.get_article(conn, article_id)
    if article is None:
        raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
    stored = sentence_scores_repo.article_sentence_scores(conn, article_id)
    units = article_units(article.get("title") or "", article.get("body") or "", stored)
    if not units:
        raise HTTPException(status_code=422, detail=f"article {article_id!r} has no text to explain")
    cache: ExplainerCache = request.app.state.explainer
    clf = cache.get(_model_path(conn))
    result = explain(clf, units, rollup=rollup).to_dict()
    return {"article_id": article_id, **result}
