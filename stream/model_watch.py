"""Follow the production model of the registry: load it at start, hot-swap it when promoted.

The check is ``storage.model_versions.production_version`` (one indexed query: the partial unique
index on production), made at most every ``check_every_s`` seconds and only between batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from finsent.models.registry import ModelRegistry, ensure_default_registered
from finsent.storage import model_versions
from finsent.storage.exceptions import StorageUnavailableError, translate_errors
from finsent.storage.model_versions import SqlModelIndex
from finsent.stream.exceptions import ModelUnavailableError
from finsent.stream.inference import ClassifierLike, ModelRunner
from finsent.stream.metrics import StreamMetrics

__all__ = ["ModelWatcher", "ProductionModel", "classifier_loader", "production_model"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProductionModel:
    """The registry row of the production model."""

    version: str
    path: str


def production_model(engine: Engine) -> ProductionModel | None:
    """The production model of the registry (None when there is none).

    Raises:
        StorageUnavailableError: the database is unreachable.
    """
    with translate_errors("reading the production model"), engine.connect() as conn:
        row = model_versions.production_version(conn)
    return None if row is None else ProductionModel(row["version"], row["path"])


def classifier_loader(
    *, device: str, cpu_backend: str, max_length: int, batch_size: int
) -> Callable[[str], ClassifierLike]:
    """A function that loads ``models.Classifier`` from a version directory with these options."""

    def load(path: str) -> ClassifierLike:
        from finsent.models import Classifier  # heavy (torch, onnxruntime): imported on the inference thread

        classifier: ClassifierLike = Classifier.load(
            path, device=device, cpu_backend=cpu_backend, max_length=max_length, batch_size=batch_size
        )
        return classifier

    return load


class ModelWatcher:
    """Keeps a :class:`ModelRunner` on the registry's production model."""

    def __init__(
        self,
        engine: Engine,
        runner: ModelRunner,
        load: Callable[[str], ClassifierLike],
        *,
        check_every_s: float = 5.0,
        model_store: Path | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._runner = runner
        self._load = load
        self._check_every_s = check_every_s
        self._model_store = model_store
        self._metrics = metrics
        self._checked_at = float("-inf")
        self._current: ProductionModel | None = None
        self._rejected: ProductionModel | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> ProductionModel | None:
        """The registry entry of the model in use."""
        return self._current

    async def start(self) -> ProductionModel:
        """Load the production model (registering the shipped default when there is none).

        Raises:
            ModelUnavailableError: no production model and the default could not be registered.
        """
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, production_model, self._engine)
        if found is None and self._model_store is not None:
            await loop.run_in_executor(None, self._register_default)
            found = await loop.run_in_executor(None, production_model, self._engine)
        if found is None:
            raise ModelUnavailableError(
                "no production model in the registry: train one (`finsent models train`) or "
                "run `finsent up` to register the shipped default"
            )
        await self._swap(found)
        self._checked_at = time.monotonic()
        return found

    def _register_default(self) -> None:
        assert self._model_store is not None
        ensure_default_registered(ModelRegistry(SqlModelIndex(self._engine), self._model_store))

    async def maybe_reload(self) -> bool:
        """Between batches: swap in a newly promoted production model (cheap when nothing changed).

        A registry that cannot be read keeps the current model (logged); the next check retries.

        Returns:
            True when a new model was loaded.
        """
        if time.monotonic() - self._checked_at < self._check_every_s:
            return False
        async with self._lock:
            if time.monotonic() - self._checked_at < self._check_every_s:
                return False
            self._checked_at = time.monotonic()
            loop = asyncio.get_running_loop()
            try:
                found = await loop.run_in_executor(None, production_model, self._engine)
            except StorageUnavailableError as exc:
                log.warning("registry check failed; keeping model %s: %s", self._runner.version, exc)
                return False
            if found is None or found in (self._current, self._rejected):
                return False
            try:
                await self._swap(found)
            except Exception as exc:  # a broken promotion must not stop scoring with the old model
                self._rejected = found
                log.error(
                    "cannot load promoted model %s (%s); keeping %s: %s",
                    found.version,
                    found.path,
                    self._runner.version,
                    exc,
                )
                return False
            if self._metrics is not None:
                self._metrics.model_reloads.inc()
            return True

    async def _swap(self, found: ProductionModel) -> None:
        previous = self._runner.version
        classifier = await self._runner.load(lambda: self._load(found.path))
        if classifier.version != found.version:
            log.warning(
                "registry version %s loads as %s; score rows carry the model's own version",
                found.version,
                classifier.version,
            )
        self._current = found
        if self._metrics is not None:
            self._metrics.set_model(classifier.version, previous)
        log.info("production model in use", extra={"model_version": classifier.version, "path": found.path})
