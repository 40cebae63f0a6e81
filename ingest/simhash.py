"""SimHash fingerprints and content-word sets of short news texts.

A story reworded by another outlet keeps most of its content words, so the 64-bit SimHash of its
title and lead differs in few bits (unrelated headlines differ in about 32). On texts as short as
headlines SimHash alone is noisy, so :mod:`ingest.stories` uses it as a cheap pre-filter and
confirms candidates by the Jaccard similarity of their content words.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import numpy as np

__all__ = ["content_words", "hamming", "jaccard", "simhash", "to_signed", "to_unsigned"]

_TOKEN = re.compile(r"[^\W_]+(?:['.][^\W_]+)*", re.UNICODE)
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "over",
        "says",
        "said",
        "the",
        "to",
        "up",
        "was",
        "were",
        "will",
        "with",
        "after",
        "amid",
        "new",
        "report",
        "reports",
        "today",
    }
)
_MASK = (1 << 64) - 1


def _stem(token: str) -> str:
    # Light suffix stripping so "recalls"/"recalling" and "shares"/"share" meet.
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > 4 and token.endswith(suffix):
            return token[: -len(suffix)]
    return token


def _features(text: str) -> Counter[str]:
    return Counter(_stem(t) for t in _TOKEN.findall(text.casefold()) if t not in _STOPWORDS)


def content_words(text: str) -> frozenset[str]:
    """The set of (lower-cased, lightly stemmed) content words of a text."""
    return frozenset(_features(text))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def simhash(text: str) -> int:
    """64-bit SimHash (unsigned) of the content words of ``text``; 0 for a text without words."""
    features = _features(text)
    if not features:
        return 0
    digests = b"".join(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest() for t in features)
    # bits[i, j] is bit j (most significant first) of feature i's hash.
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(len(features), 64)
    weights = np.fromiter(features.values(), dtype=np.int64, count=len(features))
    votes = weights @ (2 * bits.astype(np.int64) - 1)
    return int.from_bytes(np.packbits(votes > 0).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit fingerprints."""
    return ((a ^ b) & _MASK).bit_count()


def to_signed(value: int) -> int:
    """An unsigned 64-bit value as PostgreSQL's signed ``bigint``."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    """A signed ``bigint`` back to the unsigned 64-bit fingerprint."""
    return value & _MASK
