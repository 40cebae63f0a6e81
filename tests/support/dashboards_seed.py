"""Scored demo data for the dashboards tests (API, Grafana SQL, browser).

Rows go in through storage's own writers (``upsert_articles``, ``upsert_scores`` and
``refresh_buckets`` in the same transaction), exactly as the stream worker writes them, so the
per-minute aggregates the charts read are the real ones. Importable from any test because pytest
puts ``tests/`` (the directory of the root conftest) on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from finsent.models.labels import TOPIC_LABELS
from finsent.storage.aggregates import refresh_buckets
from finsent.storage.repository import upsert_articles, upsert_scores
from finsent.storage.schema import Alert, DeadLetter, ModelVersion, Source

__all__ = [
    "API_TOKEN",
    "AUTH",
    "ScoredArticle",
    "insert_alert",
    "insert_dead_letter",
    "insert_scored",
    "register_model",
    "seed_demo",
]

API_TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
MODEL_VERSION = "v-test-1"
TICKERS = ("AAPL", "MSFT", "TSLA", "NVDA", "JPM", "XOM")
SOURCES = ("demo-wire", "demo-blog", "demo-feed")
_PROBS = {"negative": (0.8, 0.15, 0.05), "neutral": (0.1, 0.8, 0.1), "positive": (0.05, 0.15, 0.8)}


@dataclass
class ScoredArticle:
    """One article and its score, with test-friendly defaults."""

    title: str
    published_at: datetime
    topic: int = 5
    sentiment: str = "neutral"
    tickers: list[str] = field(default_factory=list)
    source_id: str = "demo-wire"
    body: str = ""
    confidence: float | None = None
    sentiment_probs: tuple[float, float, float] | None = None
    model_version: str = MODEL_VERSION
    scored_at: datetime | None = None
    id: str | None = None

    def article_id(self) -> str:
        """A stable id from the title and time (like ingest's content ids)."""
        if self.id is None:
            raw = f"{self.title}|{self.published_at.isoformat()}".encode()
            self.id = hashlib.sha256(raw).hexdigest()[:32]
        return self.id

    def rows(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``articles`` row and the ``scores`` row."""
        aid = self.article_id()
        article = {
            "id": aid,
            "source_id": self.source_id,
            "url": f"https://news.example.com/{aid}",
            "canonical_url": f"https://news.example.com/{aid}",
            "title": self.title,
            "body": self.body or f"{self.title}. More details follow in the full story.",
            "published_at": self.published_at,
            "language": "en",
            "tickers": list(self.tickers),
            "entities": [{"ticker": t, "relevance": 1.0} for t in self.tickers],
            "content_hash": hashlib.sha256(self.title.encode()).hexdigest(),
            "emitted_at": self.published_at,
        }
        probs = list(self.sentiment_probs or _PROBS[self.sentiment])
        topic_probs = [0.01] * len(TOPIC_LABELS)
        topic_probs[self.topic] = 1.0 - 0.01 * (len(TOPIC_LABELS) - 1)
        score = {
            "article_id": aid,
            "model_version": self.model_version,
            "topic": self.topic,
            "topic_label": TOPIC_LABELS[self.topic],
            "topic_probs": topic_probs,
            "sentiment": self.sentiment,
            "sentiment_probs": probs,
            "score": probs[2] - probs[0],
            "confidence": self.confidence if self.confidence is not None else max(probs),
            "published_at": self.published_at,
            "scored_at": self.scored_at or datetime.now(UTC),
        }
        return article, score


def insert_scored(engine: Engine, items: list[ScoredArticle]) -> list[str]:
    """Write articles + scores and recount their minute buckets in one transaction."""
    articles, scores = zip(*(item.rows() for item in items), strict=True)
    with engine.begin() as conn:
        upsert_articles(conn, articles)
        upsert_scores(conn, scores)
        refresh_buckets(conn, [a["published_at"] for a in articles])
    return [a["id"] for a in articles]


def seed_demo(
    engine: Engine, *, now: datetime | None = None, minutes: int = 90, per_minute: int = 2, seed: int = 7
) -> list[ScoredArticle]:
    """A deterministic spread of scored articles over the last ``minutes`` minutes."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    items = []
    for minute in range(minutes):
        for k in range(per_minute):
            topic = rng.choice((1, 5, 6, 13, 19))
            sentiment = rng.choices(("negative", "neutral", "positive"), (3, 4, 3))[0]
            ticker = rng.choice(TICKERS)
            items.append(
                ScoredArticle(
                    title=f"{ticker} {TOPIC_LABELS[topic]} update {minute}-{k}",
                    published_at=start + timedelta(minutes=minute, seconds=10 + 20 * k),
                    topic=topic,
                    sentiment=sentiment,
                    tickers=[ticker],
                    source_id=SOURCES[(minute + k) % len(SOURCES)],
                    confidence=round(rng.uniform(0.4, 0.99), 3),
                )
            )
    insert_scored(engine, items)
    with engine.begin() as conn:
        for sid in SOURCES:
            conn.execute(insert(Source).values(id=sid, kind="demo", name=sid))
    return items


def insert_alert(engine: Engine, **values: Any) -> int:
    """An alert row with sensible defaults; returns its id."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "rule_id": "negative-surge",
        "kind": "surge",
        "scope_kind": "topic",
        "scope_value": "5",
        "severity": "critical",
        "status": "open",
        "opened_at": now - timedelta(minutes=10),
        "updated_at": now - timedelta(minutes=5),
        "window_start": now - timedelta(minutes=15),
        "window_end": now - timedelta(minutes=10),
        "value": 0.8,
        "baseline": 0.3,
        "statistic": 4.2,
    }
    row.update(values)
    with engine.begin() as conn:
        return int(conn.execute(insert(Alert).values(row).returning(Alert.id)).scalar_one())


def register_model(engine: Engine, version: str, path: Path, status: str = "candidate") -> None:
    """A registry row (the directory is created so health checks find it)."""
    path.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        conn.execute(
            insert(ModelVersion).values(
                version=version, status=status, path=str(path), metrics={"sentiment_f1": 0.8}
            )
        )


def insert_dead_letter(engine: Engine, *, at: datetime, stage: str = "stream") -> None:
    """One dead letter at a given time."""
    with engine.begin() as conn:
        conn.execute(
            insert(DeadLetter).values(
                stage=stage,
                source="finsent.raw-articles",
                error_type="SchemaError",
                error="bad json",
                payload=b"{",
                created_at=at,
            )
        )
