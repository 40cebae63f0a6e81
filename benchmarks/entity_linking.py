"""Entity-linking precision and recall of the tagger on the hand-labelled sample.

``tests/data/entity_gold.jsonl``: one article a line, ``{"case", "title", "body", "gold"}``, gold
being the canonical tickers the article names (written by hand for finsent: real-style finance
headlines with the hard cases -- person names equal to company names, word tickers, share
classes and renamed tickers, symbol-only trade-halt titles, several companies, no company).
Run ``python -m benchmarks.entity_linking`` for the figures per case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GOLD", "Scores", "evaluate", "load_gold"]

GOLD = Path(__file__).resolve().parent.parent / "tests" / "data" / "entity_gold.jsonl"


@dataclass(frozen=True)
class Scores:
    """Micro-averaged counts over (article, ticker) pairs."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """Share of tagged pairs that are gold."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of gold pairs that are tagged."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_gold(path: Path = GOLD) -> list[dict[str, object]]:
    """The labelled articles."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(
    tag: Callable[[str, str], Iterable[str]], items: list[dict[str, object]]
) -> tuple[Scores, dict[str, Scores], list[str]]:
    """Scores overall and per case, and one line per wrong article.

    Args:
        tag: (title, body) -> tickers found.
        items: Labelled articles (:func:`load_gold`).
    """
    totals: dict[str, list[int]] = {}
    errors = []
    for item in items:
        gold = set(item["gold"])  # type: ignore[call-overload]
        found = set(tag(str(item["title"]), str(item["body"])))
        counts = totals.setdefault(str(item["case"]), [0, 0, 0])
        counts[0] += len(found & gold)
        counts[1] += len(found - gold)
        counts[2] += len(gold - found)
        if found != gold:
            errors.append(f"{item['title']!r}: extra {sorted(found - gold)} missing {sorted(gold - found)}")
    per_case = {case: Scores(*c) for case, c in sorted(totals.items())}
    overall = Scores(*(sum(c[i] for c in totals.values()) for i in range(3)))
    return overall, per_case, errors


def span_overlap(
    entities: Callable[[str], Iterable[list[tuple[int, int]]]], path: Path
) -> tuple[float, float, int, int]:
    """Entity-level precision and span-level recall against FinEntity-style span labels.

    A found entity is right when one of its spans overlaps or directly follows a labelled span
    (a wire story names a company and then its code, "Bank of America <BAC.N>", but labels only
    the name); a
    labelled span is found when a found span overlaps it. FinEntity labels every financial
    entity (also private firms, indices, commodities, central banks), so recall here also
    measures how much of the news the universe covers.

    Returns:
        precision, recall, found entities, labelled spans.
    """
    right = hits_gold = n_found = n_gold = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        gold = [(e["start"], e["end"]) for e in item["entities"]]
        found = list(entities(item["text"]))
        n_found += len(found)
        n_gold += len(gold)
        # Right after a labelled name ("Twitter Inc <TWTR.N>") is the same mention.
        right += sum(any(s < ge + 3 and gs < e for s, e in spans for gs, ge in gold) for spans in found)
        hits_gold += sum(any(s < ge and gs < e for spans in found for s, e in spans) for gs, ge in gold)
    return right / max(n_found, 1), hits_gold / max(n_gold, 1), n_found, n_gold


def main() -> None:
    """Print the figures of the current tagger."""
    from finsent.ingest.entities import EntityTagger

    tagger = EntityTagger()
    overall, per_case, errors = evaluate(lambda t, b: [e.ticker for e in tagger.tag(t, b)], load_gold())
    print(f"{len(load_gold())} articles: precision {overall.precision:.3f} recall {overall.recall:.3f}")
    for case, s in per_case.items():
        print(f"  {case:8} precision {s.precision:.3f} recall {s.recall:.3f} (tp {s.tp} fp {s.fp} fn {s.fn})")
    for line in errors:
        print("  x", line)
    finentity = GOLD.parents[3] / "shared" / "datasets" / "finentity" / "valid.jsonl"
    if finentity.is_file():
        p, r, n_found, n_gold = span_overlap(
            lambda text: [[(s.start, s.end) for s in e.spans] for e in tagger.tag("", text)], finentity
        )
        print(
            f"FinEntity valid: entity precision {p:.3f}, span recall {r:.3f} "
            f"({n_found} entities found, {n_gold} labelled)"
        )


if __name__ == "__main__":
    main()
