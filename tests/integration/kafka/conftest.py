"""Fixtures of the Kafka integration tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from finsent.core.records import ArticleRecord, EntityMention


@pytest.fixture
def article_record() -> ArticleRecord:
    """A valid article record."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return ArticleRecord(
        id="a1",
        source_id="demo",
        url="https://example.com/a1",
        title="Acme beats estimates",
        body="Acme Corp reported...",
        published_at=now,
        fetched_at=now,
        language="en",
        tickers=["ACME"],
        entities=[EntityMention(ticker="ACME", relevance=0.9)],
        content_hash="h" * 64,
        emitted_at=now,
    )
