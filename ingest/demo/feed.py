"""A synthetic finance-news feed for the embedded mode, with plantable events.

Output is a pure function of ``(seed, time)``: the items of a minute come from a random
generator seeded with the seed and that minute, so polling every 5 s or once an hour yields
the same items, and two runs with the same seed agree. Companies, firms and people are
fictional (``ingest/data/demo_templates.yaml``); URLs use the reserved ``.invalid`` domain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from finsent.ingest.items import RawItem

__all__ = ["DemoCompany", "DemoFeed", "DemoItem", "PlantedEvent", "Tone", "write_corpus"]

Tone = Literal["negative", "neutral", "positive"]
_TONE_WEIGHTS: tuple[tuple[Tone, float], ...] = (("neutral", 0.5), ("positive", 0.25), ("negative", 0.25))
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class DemoCompany:
    """A fictional listed company of the demo feed."""

    ticker: str
    name: str
    exchange: str = "NYSE"


@dataclass(frozen=True)
class PlantedEvent:
    """A burst of news about one ticker with one tone (e.g. a wave of negative headlines).

    Attributes:
        ticker: The company the burst is about (a fictional one is made up if unknown).
        start: When the burst starts (aware datetime).
        duration: How long it lasts (timedelta or seconds).
        tone: Tone of every planted item.
        rate_per_min: Planted items per minute, on top of the background feed.
    """

    ticker: str
    start: datetime
    duration: timedelta | float = timedelta(minutes=10)
    tone: Tone = "negative"
    rate_per_min: float = 10.0

    @property
    def end(self) -> datetime:
        """When the burst stops."""
        span = self.duration if isinstance(self.duration, timedelta) else timedelta(seconds=self.duration)
        return self.start + span


@dataclass(frozen=True)
class DemoItem:
    """One synthetic news item."""

    id: str
    title: str
    body: str
    url: str
    published_at: datetime
    tickers: tuple[str, ...]
    topic: str
    tone: Tone
    planted: bool = False

    def to_raw(self, source_id: str = "demo", fetched_at: datetime | None = None) -> RawItem:
        """The item as a source delivers it."""
        return RawItem(
            source_id=source_id,
            title=self.title,
            body=self.body,
            url=self.url,
            published=self.published_at,
            item_id=self.id,
            tickers=self.tickers,
            fetched_at=fetched_at or self.published_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the default field names of file replay."""
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "published_at": self.published_at.isoformat(),
            "tickers": list(self.tickers),
            "topic": self.topic,
            "tone": self.tone,
            "planted": self.planted,
        }


@lru_cache(maxsize=1)
def _templates() -> dict[str, Any]:
    text = resources.files("finsent.ingest").joinpath("data/demo_templates.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:  # normal approximation; exact sampling is slow for large rates
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _minute_floor(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(second=0, microsecond=0)


class DemoFeed:
    """Deterministic synthetic headlines across many companies, topics and tones.

    Args:
        seed: Random seed; the same seed gives the same feed.
        rate_per_min: Background items per minute (Poisson).
        events: Planted bursts.
        companies: Companies to write about (default: the bundled fictional ones).
        market_share: Share of background items about markets/macro rather than a company.

    Example::

        feed = DemoFeed(seed=7, rate_per_min=30, events=[
            PlantedEvent("ACMR", start=t0 + timedelta(minutes=5), duration=600, tone="negative")])
        items = feed.items_between(t0, t0 + timedelta(minutes=20))
    """

    def __init__(
        self,
        seed: int = 0,
        rate_per_min: float = 20.0,
        events: Iterable[PlantedEvent] = (),
        *,
        companies: Sequence[DemoCompany] | None = None,
        market_share: float = 0.2,
    ) -> None:
        data = _templates()
        self.seed = seed
        self.rate_per_min = rate_per_min
        self.events = list(events)
        self.market_share = market_share
        self.companies = list(companies or (DemoCompany(*row) for row in data["companies"]))
        self._by_ticker = {c.ticker: c for c in self.companies}
        for event in self.events:
            if event.ticker not in self._by_ticker:
                self._by_ticker[event.ticker] = DemoCompany(event.ticker, f"{event.ticker.title()} Holdings")

    def company(self, ticker: str) -> DemoCompany | None:
        """The demo company of a ticker."""
        return self._by_ticker.get(ticker)

    def items_between(self, start: datetime, end: datetime) -> list[DemoItem]:
        """Every item published in ``[start, end)``, in time order (deterministic)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        items: list[DemoItem] = []
        minute = _minute_floor(start)
        while minute < end:
            items.extend(i for i in self._minute(minute) if start <= i.published_at < end)
            minute += _MINUTE
        items.sort(key=lambda i: (i.published_at, i.id))
        return items

    def generate(self, n: int, start: datetime) -> list[DemoItem]:
        """The first ``n`` items from ``start`` on (for corpora and benchmarks)."""
        items: list[DemoItem] = []
        minute = _minute_floor(start)
        while len(items) < n:
            items.extend(i for i in self._minute(minute) if i.published_at >= start)
            minute += _MINUTE
            if minute > start + timedelta(days=3650):
                break  # a zero rate never fills n
        items.sort(key=lambda i: (i.published_at, i.id))
        return items[:n]

    def _minute(self, minute: datetime) -> list[DemoItem]:
        index = int(minute.timestamp() // 60)
        rng = random.Random(f"{self.seed}:{index}:background")
        out = [
            self._background(rng, minute, f"{index}-b{k}") for k in range(_poisson(rng, self.rate_per_min))
        ]
        for number, event in enumerate(self.events):
            lo, hi = max(minute, event.start), min(minute + _MINUTE, event.end)
            if lo >= hi:
                continue
            erng = random.Random(f"{self.seed}:{index}:event{number}")
            share = (hi - lo) / _MINUTE
            for k in range(_poisson(erng, event.rate_per_min * share)):
                when = lo + (hi - lo) * erng.random()
                company = self._by_ticker[event.ticker]
                out.append(
                    self._company_item(erng, when, company, event.tone, f"{index}-e{number}-{k}", True)
                )
        return out

    def _background(self, rng: random.Random, minute: datetime, key: str) -> DemoItem:
        when = minute + _MINUTE * rng.random()
        tone = rng.choices([t for t, _ in _TONE_WEIGHTS], [w for _, w in _TONE_WEIGHTS])[0]
        if rng.random() < self.market_share:
            return self._market_item(rng, when, tone, key)
        return self._company_item(rng, when, rng.choice(self.companies), tone, key, False)

    def _company_item(
        self, rng: random.Random, when: datetime, company: DemoCompany, tone: Tone, key: str, planted: bool
    ) -> DemoItem:
        topics = [t for t, by_tone in _templates()["company"].items() if by_tone.get(tone)]
        topic = rng.choice(topics)
        title, body = rng.choice(_templates()["company"][topic][tone])
        peer = rng.choice([c for c in self.companies if c.ticker != company.ticker] or self.companies)
        values = self._values(rng, company, peer.name)
        tickers = (company.ticker, peer.ticker) if "{peer}" in title + body else (company.ticker,)
        change = rng.uniform(0.1, 40.0)
        closing = f"The shares have {'gained' if rng.random() < 0.5 else 'lost'} {change:.1f}% this year."
        item = self._item(rng, when, key, (title, body, closing), values, tickers, (topic, tone), planted)
        others = [c.name for c in self.companies if c.ticker not in tickers] or [company.name]
        rival = random.Random(f"{self.seed}:{key}:rival").choice(others)
        return dataclasses.replace(
            item, body=item.body + self._paragraphs(key, {**values, "rival": rival}, tone)
        )

    def _paragraphs(self, key: str, values: dict[str, str], tone: Tone, *, mix: bool = True) -> str:
        """Later paragraphs of a company story: one of context, then the tone's mixed with neutral ones.

        Drawn from their own generator, so the items, titles and lead paragraphs of a seed are
        the same as before bodies had more than one paragraph.
        """
        data = _templates()
        prng = random.Random(f"{self.seed}:{key}:paragraphs")
        count = prng.randint(int(data["paragraphs_min"]), int(data["paragraphs_max"]))
        texts = [prng.choice(data["paragraphs"]["context"])]
        own = list(data["paragraphs"][tone])
        prng.shuffle(own)
        for k in range(count - 1):
            use_own = not mix or tone == "neutral" or k % 2 == 0
            texts.append(own[k % len(own)] if use_own else prng.choice(data["paragraphs"]["neutral"]))
        return "".join("\n\n" + t.format(**values) for t in texts)

    def mixed_item(
        self, ticker: str, when: datetime, *, headline_tone: Tone = "neutral", body_tone: Tone = "negative"
    ) -> DemoItem:
        """A company story whose headline and lead have one tone and whose later paragraphs another.

        E.g. a neutral "to report results" headline over paragraphs of bad news: the case where
        whole-article scoring and headline-only scoring disagree.
        """
        company = self._by_ticker.get(ticker) or DemoCompany(ticker, f"{ticker.title()} Holdings")
        key = f"mixed-{ticker}-{int(when.timestamp())}"
        rng = random.Random(f"{self.seed}:{key}")
        by_topic = _templates()["company"]
        topic = next(t for t, by_tone in by_topic.items() if by_tone.get(headline_tone) and t == "Earnings")
        title, body = by_topic[topic][headline_tone][0]
        values = {**self._values(rng, company, ""), "rival": company.name}
        closing = "The company did not comment further."
        item = self._item(
            rng, when, key, (title, body, closing), values, (company.ticker,), (topic, headline_tone), False
        )
        body_text = item.body + self._paragraphs(key, values, body_tone, mix=False)
        return dataclasses.replace(item, body=body_text, tone=body_tone)

    def _market_item(self, rng: random.Random, when: datetime, tone: Tone, key: str) -> DemoItem:
        topics = [t for t, by_tone in _templates()["market"].items() if by_tone.get(tone)]
        topic = rng.choice(topics)
        title, body = rng.choice(_templates()["market"][topic][tone])
        values = self._values(rng, None, "")
        level = rng.uniform(0.1, 25.0)
        closing = f"The main stock index is {'up' if rng.random() < 0.5 else 'down'} {level:.1f}% this year."
        return self._item(rng, when, key, (title, body, closing), values, (), (topic, tone), False)

    def _item(
        self,
        rng: random.Random,
        when: datetime,
        key: str,
        texts: tuple[str, str, str],
        values: dict[str, str],
        tickers: tuple[str, ...],
        topic_tone: tuple[str, Tone],
        planted: bool,
    ) -> DemoItem:
        title, body, closing = texts
        topic, tone = topic_tone
        headline = title.format(**values)
        dateline = f"{values['city'].upper()}, {when:%H:%M} GMT -"
        text = f"{dateline} {body.format(**values)} {rng.choice(_templates()['extras'][tone])} {closing}"
        digest = hashlib.sha1(f"{self.seed}:{key}".encode()).hexdigest()[:10]
        slug = re.sub(r"[^a-z0-9]+", "-", headline.lower()).strip("-")[:60]
        url = f"https://news.demo.finsent.invalid/{when:%Y/%m/%d}/{slug}-{digest}"
        return DemoItem(f"demo-{self.seed}-{key}", headline, text, url, when, tickers, topic, tone, planted)

    @staticmethod
    def _values(rng: random.Random, company: DemoCompany | None, peer: str) -> dict[str, str]:
        data = _templates()
        pt = rng.randint(20, 400)
        quarter = rng.choice(["first-quarter", "second-quarter", "third-quarter", "fourth-quarter"])
        return {
            "co": company.name if company else "",
            "tk": company.ticker if company else "",
            "ex": company.exchange if company else "",
            "peer": peer,
            "pct": f"{rng.uniform(1.0, 15.0):.1f}",
            "pct2": f"{rng.uniform(0.5, 3.0):.1f}",
            "pt": str(pt),
            "pt0": str(max(5, round(pt * rng.uniform(0.75, 1.25)))),
            "eps": f"{rng.uniform(0.1, 5.0):.2f}",
            "amt": f"{rng.uniform(0.5, 30.0):.1f}",
            "mn": str(rng.randint(10, 900)),
            "n": str(rng.randint(12, 5000)),
            "q": quarter,
            "bps": str(rng.choice([10, 25, 40, 50, 75, 100, 120, 150])),
            "rate": f"{rng.randint(2, 24) / 4:.2f}",
            "price": f"{rng.uniform(55.0, 110.0):.2f}",
            "firm": rng.choice(data["firms"]),
            "person": rng.choice(data["people"]),
            "role": rng.choice(data["roles"]),
            "region": rng.choice(data["regions"]),
            "product": rng.choice(data["products"]),
            "ccy": rng.choice(data["currencies"]),
            "city": rng.choice(data["cities"]),
            "day": rng.choice(data["days"]),
            "ord": rng.choice(data["ordinals"]),
        }


def write_corpus(path: Path | str, items: Iterable[DemoItem]) -> int:
    """Write items as JSONL (the default field names of file replay); returns the count."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count
