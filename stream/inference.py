"""Batched inference off the event loop, with bisection to isolate records that make the model fail.

One dedicated thread runs every ``Classifier.predict`` (and every model load) of a worker, so
batches never overlap on the CPU/GPU and the Faust event loop never blocks (faust issue #631).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from finsent.core.errors import BadDataError
from finsent.models import Score
from finsent.stream.exceptions import ModelBrokenError, StreamError

__all__ = ["CANARY_TEXT", "ClassifierLike", "ModelRunner", "has_entity_head"]

log = logging.getLogger(__name__)

#: A plain headline every working model scores; used to tell a poison record from a broken model.
CANARY_TEXT = "Shares of the company rose after it reported higher quarterly earnings."

T = TypeVar("T")


class ClassifierLike(Protocol):
    """What the worker needs from ``models.Classifier``."""

    @property
    def version(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> Sequence[Any]: ...


def has_entity_head(classifier: object) -> bool:
    """Whether ``classifier`` scores entity targets (``models.Classifier.has_entity_head``)."""
    return bool(getattr(classifier, "has_entity_head", False))


class ModelRunner:
    """Owns the current classifier and the single inference thread."""

    def __init__(self, classifier: ClassifierLike | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finsent-inference")
        self._classifier = classifier

    @property
    def classifier(self) -> ClassifierLike:
        """The classifier in use.

        Raises:
            StreamError: no model loaded yet.
        """
        if self._classifier is None:
            raise StreamError("no model loaded")
        return self._classifier

    @property
    def version(self) -> str | None:
        """Version of the classifier in use (None before the first load)."""
        return None if self._classifier is None else self._classifier.version

    async def load(self, loader: Callable[[], ClassifierLike]) -> ClassifierLike:
        """Run ``loader`` on the inference thread and swap the result in (between batches)."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        classifier = await loop.run_in_executor(self._executor, loader)
        previous, self._classifier = self.version, classifier
        log.info(
            "model loaded",
            extra={
                "model_version": classifier.version,
                "previous_version": previous,
                "load_s": round(time.perf_counter() - started, 3),
            },
        )
        return classifier

    @property
    def has_entity_head(self) -> bool:
        """Whether the classifier in use scores entity targets."""
        return self._classifier is not None and has_entity_head(self._classifier)

    async def predict(
        self, texts: Sequence[str], targets: Sequence[Sequence[Any]] | None = None
    ) -> list[Score]:
        """Score ``texts`` on the inference thread (one batch at a time).

        Args:
            texts: the texts.
            targets: per text, its ``models.entities.EntityTarget`` list; passed to the
                classifier only when it has an entity head.

        Raises:
            StreamError: the classifier returned the wrong number of scores (a bug).
        """
        classifier = self.classifier
        loop = asyncio.get_running_loop()
        call: Callable[[], Sequence[Any]]
        if targets is not None and has_entity_head(classifier):
            predict: Any = classifier.predict
            call = functools.partial(predict, list(texts), targets=[list(t) for t in targets])
        else:
            call = functools.partial(classifier.predict, list(texts))
        scores = list(await loop.run_in_executor(self._executor, call))
        if len(scores) != len(texts):
            raise StreamError(f"classifier returned {len(scores)} scores for {len(texts)} texts")
        return scores

    async def predict_isolating(
        self, texts: Sequence[str], targets: Sequence[Sequence[Any]] | None = None
    ) -> list[Score | Exception]:
        """Score ``texts``; a text the model fails on gets its exception instead of a score.

        A failing batch is bisected until the failing texts are isolated, so one poison record
        costs about ``2 * log2(len(texts))`` extra calls and the rest of the batch is scored.

        Raises:
            ModelBrokenError: the model also fails on :data:`CANARY_TEXT` (the fault is the
                model's, not the data's: nothing may be dead-lettered for it).
        """
        try:
            return list(await self.predict(texts, targets))
        except StreamError:
            raise
        except Exception as exc:
            if len(texts) == 1:
                if not isinstance(exc, BadDataError):
                    await self._check_canary(exc)
                return [exc]
            log.debug("batch of %d failed (%s); bisecting", len(texts), type(exc).__name__)
        mid = len(texts) // 2
        lo, hi = (None, None) if targets is None else (targets[:mid], targets[mid:])
        return [
            *await self.predict_isolating(texts[:mid], lo),
            *await self.predict_isolating(texts[mid:], hi),
        ]

    async def _check_canary(self, cause: Exception) -> None:
        try:
            await self.predict([CANARY_TEXT])
        except Exception as exc:
            raise ModelBrokenError(
                f"model {self.version} fails on a known-good text ({type(exc).__name__}: {exc}); "
                f"first failure: {type(cause).__name__}: {cause}"
            ) from cause

    def close(self) -> None:
        """Stop the inference thread (after the running batch)."""
        self._executor.shutdown(wait=True)
