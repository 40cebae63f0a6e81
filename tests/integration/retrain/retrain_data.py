"""Synthetic analyst labels for the retraining tests: a new bearish slang word, and noise."""

from __future__ import annotations

import random

SLANG = "glorped"

_COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Gringotts",
    "Monarch",
    "Oscorp",
    "Massive Dynamic",
    "Pied Piper",
    "Aperture",
    "Nakatomi",
    "Virtucon",
    "Dunder Mifflin",
    "Sterling Cooper",
    "Prestige Worldwide",
    "Bluth",
    "Krusty Corp",
    "Nuka",
    "Blue Sun",
    "Weyland",
    "Yoyodyne",
    "Zorg",
    "Duff",
    "Gekko",
]
_HELD_OUT_COMPANIES = [
    "Zenith",
    "Quorra",
    "Halcyon",
    "Brightwell",
    "Norland",
    "Castellan",
    "Oakmont",
    "Redwater",
    "Silverline",
    "Tamarind",
]
_TEMPLATES = [
    "{c} shares {w} {p}% in {when} trading",
    "{c} stock {w} on {day}",
    "{c} {w} {p}% after its {event}",
    "Shares of {c} {w} {p} percent on {day}",
    "{c} {w} at the open",
    "{c} ({t}) {w} {p}% by midday",
]
_WHEN = ["early", "late", "afternoon", "pre-market", "morning"]
_DAY = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
_EVENT = ["investor day", "annual meeting", "conference call", "product event", "index rebalance"]


def _headline(rng: random.Random, company: str, word: str) -> str:
    return rng.choice(_TEMPLATES).format(
        c=company,
        w=word,
        p=rng.randint(2, 19),
        when=rng.choice(_WHEN),
        day=rng.choice(_DAY),
        event=rng.choice(_EVENT),
        t="$" + company[:4].upper(),
    )


def slang_labels(n: int = 120, contrast: int = 40, seed: int = 0) -> list[dict[str, str]]:
    """``n`` headlines using the slang word, labeled negative, plus plainly worded contrast labels."""
    rng = random.Random(seed)
    rows = [
        {"text": _headline(rng, rng.choice(_COMPANIES), SLANG), "sentiment": "negative"} for _ in range(n)
    ]
    for _ in range(contrast):
        word, label = rng.choice([("rose", "positive"), ("jumped", "positive"), ("was unchanged", "neutral")])
        rows.append({"text": _headline(rng, rng.choice(_COMPANIES), word), "sentiment": label})
    seen: set[str] = set()
    return [r for r in rows if not (r["text"] in seen or seen.add(r["text"]))]


def slang_probe(n: int = 20, seed: int = 99) -> list[str]:
    """New headlines with the slang word about companies no label mentions."""
    rng = random.Random(seed)
    return [_headline(rng, _HELD_OUT_COMPANIES[i % len(_HELD_OUT_COMPANIES)], SLANG) for i in range(n)]


def poisoned_labels(texts: list[str], seed: int = 0) -> list[dict[str, str]]:
    """Uniformly random sentiment labels on real headlines."""
    rng = random.Random(seed)
    return [{"text": t, "sentiment": rng.choice(["negative", "neutral", "positive"])} for t in texts]
