"""`finsent bench ingest`: throughput of normalisation, de-duplication and publishing.

Figures are printed, never asserted. Every stage is measured on the same synthetic corpus in the
same run, so the ratios (e.g. outbox vs direct publishing) are comparable across machines.
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from finsent.ingest.demo import DemoFeed, write_corpus
from finsent.ingest.normalize import Normalizer
from finsent.ingest.replay import load_records, publish_records, replay
from finsent.ingest.store import MemoryArticleStore

__all__ = ["BenchRow", "run_ingest_bench"]


@dataclass(frozen=True)
class BenchRow:
    """One measured stage."""

    stage: str
    items: int
    seconds: float

    @property
    def per_s(self) -> float:
        """Items per second."""
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "stage": self.stage,
            "items": self.items,
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_s, 1),
        }


def _timed(stage: str, items: int, work: Callable[[], object]) -> BenchRow:
    started = time.perf_counter()
    work()
    return BenchRow(stage, items, time.perf_counter() - started)


def run_ingest_bench(
    n: int = 2000, *, engine: Engine | None = None, bootstrap: str | None = None, topic: str | None = None
) -> list[BenchRow]:
    """Measure the ingest stages on ``n`` synthetic articles.

    Args:
        n: Corpus size.
        engine: With an engine, also measure the PostgreSQL outbox path (articles are salted
            per run so they are new).
        bootstrap: With a broker and ``topic``, also measure publishing.
        topic: Topic to publish to (use a throw-away one).
    """
    items = DemoFeed(seed=1, rate_per_min=60).generate(n, datetime(2025, 1, 6, tzinfo=UTC))
    raws = [i.to_raw("bench") for i in items]
    plain, with_language = Normalizer(detect_languages=False), Normalizer()
    with_language.normalize(raws[0])  # load the language profiles outside the timed section
    rows = [
        _timed("normalise (no language)", n, lambda: [plain.normalize(r) for r in raws]),
        _timed("normalise (+ language detection)", n, lambda: [with_language.normalize(r) for r in raws]),
    ]
    articles = [plain.normalize(r) for r in raws]
    rows.append(_timed("dedup + cluster (memory)", n, lambda: MemoryArticleStore().add(articles)))
    if bootstrap and topic:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "bench.jsonl"
            write_corpus(corpus, items)
            records = load_records(corpus, source_id="bench", id_salt=f"bench-{time.time_ns()}")
            rows.append(
                _timed(
                    "publish prepared records",
                    n,
                    lambda: publish_records(records, bootstrap=bootstrap, topic=topic),
                )
            )
            play = functools.partial(replay, corpus, bootstrap=bootstrap, topic=topic, detect_languages=False)
            direct = _timed(
                "replay direct (normalise + publish)", n, lambda: play(id_salt=f"d-{time.time_ns()}")
            )
            rows.append(direct)
            if engine is not None:
                salted = f"o-{time.time_ns()}"
                rows.append(
                    _timed(
                        "replay via outbox (dedup in PostgreSQL)",
                        n,
                        lambda: play(engine=engine, id_salt=salted),
                    )
                )
    return rows
