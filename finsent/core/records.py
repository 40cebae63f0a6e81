"""Versioned message schemas of every Kafka topic, JSON-encoded.

Each record carries ``kind`` and ``v``. Decoding checks both and the shape (unknown fields are
rejected, not guessed); anything wrong raises :class:`SchemaError` (a ``BadDataError``) whose
message says what is wrong, so consumers can dead-letter it with the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from finsent.core.errors import BadDataError

__all__ = [
    "AlertRecord",
    "ArticleRecord",
    "EntityMention",
    "EntitySentiment",
    "MentionSpan",
    "Record",
    "SchemaError",
    "ScoredArticleRecord",
    "decode",
]

R = TypeVar("R", bound="Record")


class SchemaError(BadDataError):
    """A message that does not match its schema (bad JSON, unknown kind/version, bad field)."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC)


class Record(BaseModel):
    """Base of every message: strict shape, versioned, JSON on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str]
    VERSION: ClassVar[int]

    def to_bytes(self) -> bytes:
        """JSON encoding of the record (UTF-8)."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls: type[R], raw: bytes | str | None) -> R:
        """Decode and validate one message of this type.

        Raises:
            SchemaError: the bytes are not JSON, or kind/version/shape do not match.
        """
        if raw is None:
            raise SchemaError(f"{cls.KIND}: empty message (tombstone)")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SchemaError(f"{cls.KIND}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SchemaError(f"{cls.KIND}: expected a JSON object, got {type(data).__name__}")
        kind, version = data.get("kind"), data.get("v")
        if kind != cls.KIND:
            raise SchemaError(f"expected kind {cls.KIND!r}, got {kind!r}")
        if version != cls.VERSION:
            raise SchemaError(
                f"{cls.KIND}: unsupported schema version {version!r} (this build reads v{cls.VERSION})"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()
            )
            raise SchemaError(f"{cls.KIND} v{cls.VERSION}: {problems}") from None


class MentionSpan(BaseModel):
    """Where an entity is written: character offsets ``[start, end)`` into the article's title or body.

    The record does not check a span against the text (a bad span must not lose the article);
    consumers drop spans that fall outside their field.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    field: Literal["title", "body"]
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    text: str

    @model_validator(mode="after")
    def _ordered(self) -> MentionSpan:
        if self.end <= self.start:
            raise ValueError(f"span end {self.end} must be after start {self.start}")
        return self


class EntityMention(BaseModel):
    """A company/ticker an article is about, with its relevance in [0, 1] and where it is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ticker: str = Field(min_length=1, max_length=32)
    name: str | None = None
    relevance: float = Field(ge=0.0, le=1.0)
    spans: list[MentionSpan] = Field(default_factory=list)


class ArticleRecord(Record):
    """A normalised article published by the crawlers to the raw-articles topic."""

    KIND: ClassVar[str] = "article"
    VERSION: ClassVar[int] = 1
    kind: Literal["article"] = "article"
    v: Literal[1] = 1
    id: str = Field(min_length=1, max_length=64)
    source_id: str = Field(min_length=1, max_length=128)
    url: str | None = None
    title: str = Field(min_length=1)
    body: str = ""
    published_at: datetime
    published_at_estimated: bool = False
    fetched_at: datetime
    language: str = "unknown"
    tickers: list[str] = Field(default_factory=list)
    entities: list[EntityMention] = Field(default_factory=list)
    content_hash: str = Field(min_length=1, max_length=64)
    cluster_id: str | None = None
    novelty: float = Field(1.0, ge=0.0, le=1.0)
    emitted_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    _tz = field_validator("published_at", "fetched_at", "emitted_at")(_utc)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title is blank")
        return value


class EntitySentiment(BaseModel):
    """One entity's own sentiment in a scored article (``source`` ``document``: the document's copied)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ticker: str = Field(min_length=1, max_length=32)
    relevance: float = Field(ge=0.0, le=1.0)
    sentiment: Literal["negative", "neutral", "positive"]
    sentiment_probs: list[float] = Field(min_length=3, max_length=3)
    score: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    source: Literal["entity", "document"]


class ScoredArticleRecord(Record):
    """An article's scores, published by the stream workers to the scored topic."""

    KIND: ClassVar[str] = "scored_article"
    VERSION: ClassVar[int] = 1
    kind: Literal["scored_article"] = "scored_article"
    v: Literal[1] = 1
    article_id: str
    source_id: str
    title: str
    url: str | None = None
    published_at: datetime
    emitted_at: datetime
    scored_at: datetime
    model_version: str
    topic: int = Field(ge=0)
    topic_label: str
    topic_probs: list[float]
    sentiment: Literal["negative", "neutral", "positive"]
    sentiment_probs: list[float] = Field(min_length=3, max_length=3)
    score: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    entities: list[EntityMention] = Field(default_factory=list)
    #: Per-entity sentiment (one per entity of ``entities`` the worker scored, same tickers).
    entity_scores: list[EntitySentiment] = Field(default_factory=list)
    #: Body sentences rolled into the document score (0: headline + lead only).
    sentences_scored: int = Field(0, ge=0)

    _tz = field_validator("published_at", "emitted_at", "scored_at")(_utc)


class AlertRecord(Record):
    """An alert lifecycle event (opened, updated, resolved, acknowledged)."""

    KIND: ClassVar[str] = "alert"
    VERSION: ClassVar[int] = 1
    kind: Literal["alert"] = "alert"
    v: Literal[1] = 1
    alert_id: int
    event: Literal["opened", "updated", "resolved", "acknowledged"]
    rule_id: str
    rule_kind: str
    scope_kind: Literal["topic", "entity", "source", "all"]
    scope_value: str
    severity: Literal["info", "warning", "critical"]
    value: float
    baseline: float | None = None
    statistic: float | None = None
    window_start: datetime
    window_end: datetime
    at: datetime
    details: dict[str, Any] = Field(default_factory=dict)

    _tz = field_validator("window_start", "window_end", "at")(_utc)


_BY_KIND: dict[str, type[Record]] = {
    cls.KIND: cls for cls in (ArticleRecord, ScoredArticleRecord, AlertRecord)
}


def decode(raw: bytes | str | None) -> Record:
    """Decode a message of any known kind (looked up from its ``kind`` field).

    Raises:
        SchemaError: unknown kind, bad JSON, or the record does not validate.
    """
    try:
        data = json.loads(raw) if raw is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"not valid JSON: {exc}") from None
    kind = data.get("kind") if isinstance(data, dict) else None
    cls = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise SchemaError(f"unknown message kind {kind!r}; known: {sorted(_BY_KIND)}")
    return cls.from_bytes(raw)
