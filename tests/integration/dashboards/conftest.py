"""Fixtures of the dashboards API tests: an app on the embedded stack and seeded scored data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from finsent.core.settings import Settings
from finsent.dashboards.api import create_app
from tests.support.dashboards_seed import API_TOKEN, MODEL_VERSION, ScoredArticle, register_model, seed_demo


@pytest.fixture
def client(db_engine: Engine, settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A TestClient on a fresh app over the emptied schema."""
    app = create_app(settings_factory(api={"token": API_TOKEN}), db_engine)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def seeded(db_engine: Engine, tmp_path: Path) -> list[ScoredArticle]:
    """An hour of scored articles (2 a minute) and the production model that scored them."""
    register_model(db_engine, MODEL_VERSION, tmp_path / "models" / MODEL_VERSION, status="production")
    return seed_demo(db_engine, minutes=60)
