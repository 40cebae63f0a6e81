"""Story clusters: near-duplicate reports of the same story, and their novelty.

The first report of a story opens a cluster (its id is the article id) with novelty 1.0; every
later report within the window joins it with novelty ``decay ** earlier_reports``. A candidate is
the same story when its SimHash is within ``max_distance`` bits, its content words have Jaccard
similarity of at least ``min_jaccard``, and -- when both name companies -- they share one (so
"X price target raised at Y" templates about different companies stay apart).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from finsent.ingest.simhash import jaccard

__all__ = ["StoryIndex", "StoryMatch", "novelty_for"]

_MASK = (1 << 64) - 1


def novelty_for(prior_reports: int, decay: float = 0.5) -> float:
    """Novelty of a report after ``prior_reports`` earlier reports of the same story."""
    return float(decay**prior_reports) if prior_reports > 0 else 1.0


@dataclass(frozen=True)
class StoryMatch:
    """The open story a report joins and how many reports it had before."""

    cluster_id: str
    prior_reports: int
    similarity: float


@dataclass(frozen=True)
class _Entry:
    words: frozenset[str]
    tickers: frozenset[str]
    cluster_id: str
    seen_at: datetime


class StoryIndex:
    """Recent reports with their story clusters, searched by SimHash then Jaccard; thread-safe.

    Args:
        max_distance: SimHash pre-filter: largest Hamming distance of a candidate.
        min_jaccard: Smallest content-word Jaccard similarity that counts as the same story.
        window: How long a story stays open for new reports (by fetch time).
        max_candidates: Reports checked by Jaccard at most (the closest by SimHash).
    """

    def __init__(
        self,
        max_distance: int = 20,
        min_jaccard: float = 0.5,
        window: timedelta = timedelta(hours=48),
        max_candidates: int = 64,
    ) -> None:
        self.max_candidates = max_candidates
        self.max_distance = max_distance
        self.min_jaccard = min_jaccard
        self.window = window
        self._lock = threading.Lock()
        self._hashes = np.zeros(1024, dtype=np.uint64)
        self._entries: list[_Entry] = []
        self._counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def reports(self, cluster_id: str) -> int:
        """How many reports of a story the index holds."""
        with self._lock:
            return self._counts[cluster_id]

    def match(
        self,
        fingerprint: int,
        words: frozenset[str],
        tickers: frozenset[str] = frozenset(),
        now: datetime | None = None,
    ) -> StoryMatch | None:
        """The most similar open story (earliest on ties), or None when the report is new.

        Args:
            fingerprint: SimHash of the report's title and lead.
            words: Content words of the same text.
            tickers: Tickers the report names.
            now: Reports older than ``now - window`` are ignored (None: all indexed reports).
        """
        if fingerprint == 0 or not words:
            return None
        cutoff = now - self.window if now is not None else None
        with self._lock:
            size = len(self._entries)
            if not size:
                return None
            xor = np.bitwise_xor(self._hashes[:size], np.uint64(fingerprint & _MASK))
            distances = np.bitwise_count(xor)
            candidates = np.nonzero(distances <= self.max_distance)[0]
            if len(candidates) > self.max_candidates:
                # Templated news (price-target notes, wire updates) can put hundreds of reports
                # within the pre-filter; the Jaccard check only needs the closest few.
                nearest = np.argpartition(distances[candidates], self.max_candidates)[: self.max_candidates]
                candidates = candidates[nearest]
            best: tuple[float, int] | None = None
            for i in sorted(candidates.tolist()):
                entry = self._entries[i]
                if cutoff is not None and entry.seen_at < cutoff:
                    continue
                if tickers and entry.tickers and not tickers & entry.tickers:
                    continue
                similarity = jaccard(words, entry.words)
                if similarity >= self.min_jaccard and (best is None or similarity > best[0]):
                    best = (similarity, i)
            if best is None:
                return None
            cluster = self._entries[best[1]].cluster_id
            return StoryMatch(cluster, self._counts[cluster], best[0])

    def add(
        self,
        fingerprint: int,
        words: frozenset[str],
        cluster_id: str,
        seen_at: datetime,
        tickers: frozenset[str] = frozenset(),
    ) -> None:
        """Record a report of story ``cluster_id`` (texts without words are not indexed)."""
        if fingerprint == 0 or not words:
            return
        with self._lock:
            if len(self._entries) == len(self._hashes):
                self._evict_locked(seen_at)
                if len(self._entries) == len(self._hashes):
                    self._hashes = np.concatenate([self._hashes, np.zeros_like(self._hashes)])
            self._hashes[len(self._entries)] = np.uint64(fingerprint & _MASK)
            self._entries.append(_Entry(words, tickers, cluster_id, seen_at))
            self._counts[cluster_id] += 1

    def _evict_locked(self, now: datetime) -> None:
        cutoff = now - self.window
        keep = [i for i, e in enumerate(self._entries) if e.seen_at >= cutoff]
        if len(keep) == len(self._entries):
            return
        for entry in self._entries:
            if entry.seen_at < cutoff:
                self._counts[entry.cluster_id] -= 1
        self._counts = +self._counts  # forget clusters without open reports
        self._hashes[: len(keep)] = self._hashes[keep]
        self._entries = [self._entries[i] for i in keep]
