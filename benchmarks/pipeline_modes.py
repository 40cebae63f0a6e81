"""What `finsent bench pipeline` compares: scoring modes, the corpus, the engine baseline, the profile.

Modes (each a set of ``settings.stream`` overrides given to the workers as FINSENT_* variables):

* ``headline``: title + lead only (the path before whole-article scoring);
* ``article``: whole-article scoring (title + up to ``max_sentences`` body sentences rolled up),
  entity scoring on;
* ``article-no-entities``: the same with entity scoring off (every entity gets the document score).

The corpus is the demo feed (multi-paragraph bodies, fictional companies) normalised and tagged
by ingest's own :class:`Normalizer`, so entity mentions and their spans are what a real run has
(about 1.5 entities per article).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from finsent.core.records import ArticleRecord
from finsent.core.settings import Settings

__all__ = [
    "MODES",
    "corpus_maker",
    "demo_corpus",
    "demo_tagger",
    "mode_units",
    "profile_delta",
    "scrape_profile",
    "standalone_rate",
]

#: Mode -> ``settings.stream`` overrides (environment variables of the worker processes).
MODES: dict[str, dict[str, str]] = {
    "headline": {"FINSENT_STREAM__WHOLE_ARTICLE": "false", "FINSENT_STREAM__ENTITY_SCORING": "true"},
    "article": {"FINSENT_STREAM__WHOLE_ARTICLE": "true", "FINSENT_STREAM__ENTITY_SCORING": "true"},
    "article-no-entities": {
        "FINSENT_STREAM__WHOLE_ARTICLE": "true",
        "FINSENT_STREAM__ENTITY_SCORING": "false",
    },
}


def demo_tagger() -> Any:
    """Ingest's entity tagger over the bundled universe plus the demo feed's fictional companies
    (what ``finsent run`` tags demo news with)."""
    from finsent.ingest.demo import DemoFeed
    from finsent.ingest.entities import CompanyInfo, EntityTagger, TickerTable

    table = TickerTable.from_csv([])
    demo = [
        CompanyInfo(c.ticker, c.name, (c.name,), c.exchange, False)
        for c in DemoFeed().companies
        if c.ticker not in table
    ]
    return EntityTagger(TickerTable([*table.companies.values(), *demo]))


def demo_corpus(n: int, *, seed: int, prefix: str) -> list[ArticleRecord]:
    """``n`` demo articles as ingest publishes them (ids ``{prefix}{i:07d}``, distinct per call)."""
    from finsent.ingest.demo import DemoFeed
    from finsent.ingest.normalize import Normalizer

    feed = DemoFeed(seed=seed, rate_per_min=30.0)
    normalizer = Normalizer(demo_tagger(), detect_languages=False)
    start = datetime.now(UTC) - timedelta(minutes=10)
    out = []
    for i, item in enumerate(feed.generate(n, start - timedelta(days=1))):
        record = normalizer.normalize(item.to_raw()).to_record(datetime.now(UTC))
        # spread over the last 10 minutes like the generated corpus: several minute buckets
        when = start + timedelta(seconds=(i * 7.3) % 600)
        out.append(
            record.model_copy(
                update={"id": f"{prefix}{i:07d}", "content_hash": f"{prefix}{i:07d}", "published_at": when}
            )
        )
    return out


def mode_units(articles: Sequence[ArticleRecord], settings: Settings, mode: str) -> list[Any]:
    """Each article's :class:`stream.article.ArticlePlan` under ``mode`` (what a worker scores)."""
    from finsent.stream.article import plan_article
    from finsent.stream.sanitise import sanitise_entities

    s = settings.stream
    whole = MODES[mode]["FINSENT_STREAM__WHOLE_ARTICLE"] == "true"
    plans = []
    for record in articles:
        entities, _ = sanitise_entities(record, max_entities=s.max_entities, max_spans=s.max_spans_per_entity)
        plans.append(plan_article(record, entities, whole_article=whole, max_sentences=s.max_sentences))
    return plans


def standalone_rate(
    settings: Settings, model_path: Path, plans: Sequence[Any], batch_size: int, mode: str
) -> tuple[float, str, bool]:
    """Articles/s of ``Classifier.predict`` alone on the units of ``plans``, ``batch_size`` articles
    per call as a worker batches them (targets included when the mode scores entities).

    Returns:
        ``(articles_per_s, backend, has_entity_head)``.
    """
    from finsent.models import Classifier
    from finsent.stream.article import unit_targets

    clf = Classifier.load(
        model_path,
        device=settings.models.device,
        cpu_backend=settings.models.cpu_backend,
        max_length=settings.models.max_length,
        batch_size=batch_size,
    )
    with_targets = clf.has_entity_head and MODES[mode]["FINSENT_STREAM__ENTITY_SCORING"] == "true"
    calls = []
    for i in range(0, len(plans), batch_size):
        units = [u for p in plans[i : i + batch_size] for u in p.units]
        calls.append(([u.text for u in units], [unit_targets(u) for u in units] if with_targets else None))
    clf.predict(calls[0][0][:batch_size])  # warm-up (allocations, lazy initialisation)
    started = time.perf_counter()
    for texts, targets in calls:
        clf.predict(texts, targets)
    return len(plans) / (time.perf_counter() - started), clf.backend_name, clf.has_entity_head


_SAMPLE = re.compile(r'^(finsent_stream_[a-z_]+?)(_sum|_count)(?:\{stage="([a-z]+)"\})? ([0-9.e+-]+)$')


def scrape_profile(port: int) -> dict[str, float]:
    """Seconds spent per stage by a worker so far, from its ``/metrics`` (``{}`` when unreachable).

    Keys: ``decode``, ``plan``, ``inference``, ``assemble``, ``store``, ``publish`` (sums over
    batches) and ``batches``.
    """
    import httpx

    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    except httpx.HTTPError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None:
            continue
        name, kind, stage, value = m.groups()
        if name == "finsent_stream_stage_seconds" and kind == "_sum" and stage:
            out[stage] = float(value)
        elif name == "finsent_stream_inference_seconds":
            out["inference" if kind == "_sum" else "batches"] = float(value)
    return out


def corpus_maker(kind: str) -> Callable[[int, int, str], list[ArticleRecord]]:
    """``make(n, seed, prefix)`` for the corpus ``kind``: ``demo`` (:func:`demo_corpus`) or ``generated``
    (``tests.support.stream_harness.make_articles``: one-line bodies)."""
    if kind == "generated":
        from tests.support.stream_harness import make_articles

        return lambda n, seed, prefix: make_articles(n, seed=seed, prefix=prefix)
    return lambda n, seed, prefix: demo_corpus(n, seed=seed, prefix=prefix)


def profile_delta(before: list[dict[str, float]], after: list[dict[str, float]]) -> dict[str, float]:
    """Stage seconds spent between two :func:`scrape_profile` readings, summed over the workers."""
    out: dict[str, float] = {}
    for b, a in zip(before, after, strict=True):
        for key, value in a.items():
            out[key] = out.get(key, 0.0) + value - b.get(key, 0.0)
    return out
