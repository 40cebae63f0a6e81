"""Label sets of the two heads and the label maps of the shipped training data."""

from __future__ import annotations

__all__ = [
    "SENTIMENT_LABELS",
    "TOPIC_LABELS",
    "TWITTER_SENTIMENT_MAP",
    "sentiment_index",
    "topic_index",
]

#: The 20 topics of the Twitter Financial News topic corpus, by id.
TOPIC_LABELS: tuple[str, ...] = (
    "Analyst Update",
    "Fed / Central Banks",
    "Company / Product News",
    "Treasuries / Corporate Debt",
    "Dividend",
    "Earnings",
    "Energy / Oil",
    "Financials",
    "Currencies",
    "General News / Opinion",
    "Gold / Metals / Materials",
    "IPO",
    "Legal / Regulation",
    "M&A / Investments",
    "Macro",
    "Markets",
    "Politics",
    "Personnel Change",
    "Stock Commentary",
    "Stock Movement",
)

#: Sentiment classes in head order; ``Score.sentiment_probs`` follows this order.
SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")

#: Raw labels of the Twitter Financial News sentiment corpus (0 Bearish, 1 Bullish, 2 Neutral).
TWITTER_SENTIMENT_MAP: dict[str, str] = {"0": "negative", "1": "positive", "2": "neutral"}

_SENTIMENT_ALIASES = {
    "negative": 0,
    "neg": 0,
    "bearish": 0,
    "neutral": 1,
    "neu": 1,
    "positive": 2,
    "pos": 2,
    "bullish": 2,
}
_TOPIC_BY_NAME = {name.lower(): i for i, name in enumerate(TOPIC_LABELS)}


def sentiment_index(label: str) -> int | None:
    """Index in :data:`SENTIMENT_LABELS` of a sentiment name (or common alias), else None."""
    return _SENTIMENT_ALIASES.get(label.strip().lower())


def topic_index(label: str) -> int | None:
    """Index in :data:`TOPIC_LABELS` of a topic id (``"0"``..``"19"``) or name, else None."""
    raw = label.strip()
    if raw.isascii() and raw.isdigit():
        value = int(raw)
        return value if 0 <= value < len(TOPIC_LABELS) else None
    return _TOPIC_BY_NAME.get(raw.lower())
