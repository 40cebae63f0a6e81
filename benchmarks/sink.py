"""`finsent bench sink`: the stream sink's PostgreSQL write path, per 64-article batch.

What one batch writes in its single transaction: the articles (already stored by ingest, so the
insert skips them), the scores, the entity and sentence scores, and the per-minute aggregates.
Every strategy runs on the same synthetic batches in the same run, on fresh tables, so the ratios
compare like with like. Figures are printed, never asserted.

Publication times advance at ``rate`` articles per second, so a minute bucket keeps growing while
a run stays in it -- as in a sustained stream, where a per-batch recount of the whole minute costs
more the fuller the minute is.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine

from finsent.storage.db import transaction, truncate_all, upgrade
from finsent.storage.repository import upsert_articles
from finsent.storage.scores_repo import AggregateStrategy, BulkStrategy, ScoreWriter

__all__ = ["STRATEGIES", "SinkBenchRow", "make_batches", "run_sink_bench", "scratch_database"]

#: (name, bulk, aggregates) compared: multi-row INSERTs with a per-batch recount of the touched
#: minutes (the write path before the fold), COPY with the recount, and COPY with the fold of the
#: batch's own contribution into the stored rows (storage.aggregates).
STRATEGIES: tuple[tuple[str, BulkStrategy, AggregateStrategy], ...] = (
    ("insert+recount", "insert", "recount"),
    ("copy+recount", "copy", "recount"),
    ("copy+fold", "copy", "fold"),
)
_SENTIMENTS = ("negative", "neutral", "positive")
_TICKERS = [f"T{i:03d}" for i in range(300)]
_VERSION = "bench-v1"


@dataclass(frozen=True)
class SinkBenchRow:
    """One measured strategy."""

    strategy: str
    batches: int
    batch_size: int
    rows: int  # rows written: scores + entity scores + sentence scores
    seconds: float
    batch_ms: list[float]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        ordered = sorted(self.batch_ms)
        return {
            "strategy": self.strategy,
            "batches": self.batches,
            "batch_size": self.batch_size,
            "articles_per_s": round(self.batches * self.batch_size / self.seconds, 1),
            "rows_per_s": round(self.rows / self.seconds, 1),
            "ms_per_batch_mean": round(1000 * self.seconds / self.batches, 2),
            "ms_per_batch_p50": round(ordered[len(ordered) // 2], 2),
            "ms_per_batch_p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        }


def _batch(
    rng: random.Random, start: int, size: int, t0: datetime, rate: float, prefix: str
) -> dict[str, Any]:
    articles, scores, entities, sentences = [], [], [], []
    now = datetime.now(UTC)
    for i in range(start, start + size):
        aid = f"{prefix}{i:08d}"
        published = t0 + timedelta(seconds=i / rate)
        tickers = rng.sample(_TICKERS, rng.choice((1, 1, 2, 2, 3)))
        body = " ".join(f"Sentence {k} of article {i} about {tickers[0]} and its results." for k in range(8))
        mentions = [
            {"ticker": t, "name": t, "relevance": round(rng.random(), 3), "spans": []} for t in tickers
        ]
        articles.append(_article(aid, published, body, tickers, mentions))
        scores.append(_score(aid, published, now, _SENTIMENTS[rng.randrange(3)], rng.uniform(-1, 1)))
        for k, m in enumerate(mentions):
            es = _score(aid, published, now, _SENTIMENTS[rng.randrange(3)], rng.uniform(-1, 1))
            for drop in ("topic", "topic_label", "topic_probs"):
                es.pop(drop)
            es.update(entity=m["ticker"], relevance=m["relevance"], source="entity" if k < 2 else "document")
            es.update(in_title=k == 0, mentions=1 + k)
            entities.append(es)
        sentences.extend(_sentences(aid, body))
    return {"articles": articles, "scores": scores, "entity_scores": entities, "sentence_scores": sentences}


def _sentences(aid: str, body: str) -> list[dict[str, Any]]:
    return [
        {
            "article_id": aid,
            "model_version": _VERSION,
            "idx": k,
            "char_start": k * 48,
            "char_end": k * 48 + 47,
            "text": body[k * 48 : k * 48 + 47],
            "sentiment": _SENTIMENTS[k % 3],
            "sentiment_probs": [0.2, 0.3, 0.5],
            "score": 0.3,
            "confidence": 0.5,
        }
        for k in range(8)
    ]


def _article(
    aid: str, published: datetime, body: str, tickers: list[str], mentions: list[Any]
) -> dict[str, Any]:
    return {
        "id": aid,
        "source_id": "bench",
        "url": f"https://example.com/{aid}",
        "title": f"Headline {aid} about {' and '.join(tickers)}",
        "body": body,
        "published_at": published,
        "published_at_estimated": False,
        "fetched_at": published,
        "language": "en",
        "tickers": tickers,
        "entities": mentions,
        "content_hash": aid,
        "cluster_id": None,
        "novelty": 1.0,
        "emitted_at": published,
    }


def _score(aid: str, published: datetime, now: datetime, sentiment: str, score: float) -> dict[str, Any]:
    return {
        "article_id": aid,
        "model_version": _VERSION,
        "topic": hash(aid) % 20,
        "topic_label": "t",
        "topic_probs": [0.05] * 20,
        "sentiment": sentiment,
        "sentiment_probs": [0.2, 0.3, 0.5],
        "score": score,
        "confidence": 0.6,
        "published_at": published,
        "scored_at": now,
    }


def make_batches(
    n_batches: int,
    batch_size: int = 64,
    *,
    rate: float = 300.0,
    prefix: str = "b",
    day: int = 0,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Synthetic batches: 1-3 entities (mean 1.8) and 8 body sentences per article.

    Publication times start at 09:00 UTC of 2026-01-05 plus ``day`` days and advance at ``rate``.
    """
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(days=day)
    return [_batch(rng, b * batch_size, batch_size, t0, rate, prefix) for b in range(n_batches)]


def _prepare(engine: Engine, batches: Sequence[dict[str, Any]], prefill: int) -> None:
    # Ingest stored every article; the first ``prefill`` batches are already scored (untimed).
    with transaction(engine) as conn:
        for b in batches:
            upsert_articles(conn, b["articles"])
    writer = ScoreWriter(engine, stage="bench", aggregates="fold", bulk="copy")
    for b in batches[:prefill]:
        writer.write(**b)


def run_sink_bench(
    engine: Engine, *, n_batches: int = 60, batch_size: int = 64, rate: float = 300.0, prefill: int = 140
) -> list[SinkBenchRow]:
    """Write ``n_batches`` batches per strategy, interleaved, each strategy in minutes of its own.

    Tables are emptied first and at the end. Batch ``i`` of every strategy runs back to back (in
    a rotating order), so load from other processes weighs on all strategies alike.

    Args:
        engine: Engine on a migrated finsent database whose data may be thrown away.
        n_batches: timed batches per strategy.
        batch_size: articles per batch.
        rate: articles per second of publication time (how fast a minute bucket fills).
        prefill: batches already scored before the timed ones (the minute's fill when timing
            starts: 140 x 64 at 300/s is half a minute).
    """
    with transaction(engine) as conn:
        truncate_all(conn)
    plans = []
    for day, (name, bulk, aggregates) in enumerate(STRATEGIES):
        batches = make_batches(prefill + n_batches, batch_size, rate=rate, prefix=f"s{day}-", day=day)
        _prepare(engine, batches, prefill)
        plans.append(
            (name, ScoreWriter(engine, stage="bench", aggregates=aggregates, bulk=bulk), batches[prefill:])
        )
    times: list[list[float]] = [[] for _ in plans]
    for i in range(n_batches):
        for k in range(len(plans)):
            j = (i + k) % len(plans)
            _, writer, batches = plans[j]
            started = time.perf_counter()
            writer.write(**batches[i])
            times[j].append(1000 * (time.perf_counter() - started))
    with transaction(engine) as conn:
        truncate_all(conn)
    return [
        SinkBenchRow(name, n_batches, batch_size, sum(_rows(b) for b in batches), sum(t) / 1000, t)
        for (name, _, batches), t in zip(plans, times, strict=True)
    ]


def _rows(batch: dict[str, Any]) -> int:
    return len(batch["scores"]) + len(batch["entity_scores"]) + len(batch["sentence_scores"])


@contextlib.contextmanager
def scratch_database(database_url: str, name: str = "finsent_bench_sink") -> Iterator[str]:
    """A new, migrated database next to ``database_url`` (dropped afterwards): the bench empties
    its tables, so it never runs on the database that holds a stack's data."""
    admin = database_url.replace("postgresql+psycopg://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
