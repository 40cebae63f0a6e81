"""SQLAlchemy 2 models of finsent's PostgreSQL schema.

Alembic migrations in ``storage/migrations`` create exactly these tables; a test compares the
migrated database with this metadata. Times are ``timestamptz`` in UTC everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AggEntity",
    "AggTopic",
    "Alert",
    "Article",
    "Base",
    "CrawlState",
    "DeadLetter",
    "EntityScore",
    "Label",
    "ModelVersion",
    "ReconcilePass",
    "Score",
    "SentenceScore",
    "Source",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TZ = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations get stable constraint names."""

    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A configured news source (RSS/Atom feed, HTML page, JSON API, file replay, demo)."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class Article(Base):
    """A normalised, de-duplicated article; also the outbox of the Kafka publisher."""

    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[str | None] = mapped_column(String(128), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, server_default="")
    published_at: Mapped[datetime] = mapped_column(TZ)
    published_at_estimated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    fetched_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    language: Mapped[str] = mapped_column(String(16), server_default="unknown")
    tickers: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'"))
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    simhash: Mapped[int | None] = mapped_column(BigInteger)
    cluster_id: Mapped[str | None] = mapped_column(String(64), index=True)
    novelty: Mapped[float] = mapped_column(Float, server_default=text("1.0"))
    # Outbox: NULL until the article was acknowledged by the broker (acks=all).
    emitted_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_tickers", "tickers", postgresql_using="gin"),
        Index("ix_articles_unemitted", "fetched_at", postgresql_where=text("emitted_at IS NULL")),
        Index("ix_articles_emitted_at", "emitted_at"),  # reconciliation scans a recent window
        Index("ix_articles_canonical_url", "canonical_url"),  # crawlers skip pages already stored
    )


class Score(Base):
    """One model version's topic and sentiment for one article (idempotent on the pair)."""

    __tablename__ = "scores"
    article_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[int] = mapped_column(SmallInteger)
    topic_label: Mapped[str] = mapped_column(String(64))
    topic_probs: Mapped[list[float]] = mapped_column(ARRAY(Float))
    sentiment: Mapped[str] = mapped_column(String(16))
    sentiment_probs: Mapped[list[float]] = mapped_column(ARRAY(Float))  # negative, neutral, positive
    score: Mapped[float] = mapped_column(Float)  # P(positive) - P(negative), in [-1, 1]
    confidence: Mapped[float] = mapped_column(Float)
    published_at: Mapped[datetime] = mapped_column(TZ)  # copied from the article: bucket key
    scored_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        Index("ix_scores_published_topic", "published_at", "topic"),
        Index("ix_scores_scored_at", "scored_at"),
    )


class AggTopic(Base):
    """Per-minute aggregate of scores per topic (topic -1 = all topics)."""

    __tablename__ = "agg_topic"
    bucket: Mapped[datetime] = mapped_column(TZ, primary_key=True)
    topic: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    n_negative: Mapped[int] = mapped_column(Integer)
    n_neutral: Mapped[int] = mapped_column(Integer)
    n_positive: Mapped[int] = mapped_column(Integer)
    sum_score: Mapped[float] = mapped_column(Float)
    mean_score: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_agg_topic_topic_bucket", "topic", "bucket"),)


class AggEntity(Base):
    """Per-minute aggregate of scores per entity (ticker), weighted by entity relevance."""

    __tablename__ = "agg_entity"
    bucket: Mapped[datetime] = mapped_column(TZ, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    n_negative: Mapped[int] = mapped_column(Integer)
    n_neutral: Mapped[int] = mapped_column(Integer)
    n_positive: Mapped[int] = mapped_column(Integer)
    sum_score: Mapped[float] = mapped_column(Float)
    mean_score: Mapped[float] = mapped_column(Float)
    weight_sum: Mapped[float] = mapped_column(Float)
    weighted_mean_score: Mapped[float] = mapped_column(Float)
    w_negative: Mapped[float] = mapped_column(Float, server_default=text("0"))
    w_neutral: Mapped[float] = mapped_column(Float, server_default=text("0"))
    w_positive: Mapped[float] = mapped_column(Float, server_default=text("0"))
    w_sum_score: Mapped[float] = mapped_column(Float, server_default=text("0"))  # w_*: storage.aggregates

    __table_args__ = (Index("ix_agg_entity_entity_bucket", "entity", "bucket"),)


class EntityScore(Base):
    """One model version's sentiment of one entity (ticker) in one article, with its relevance."""

    __tablename__ = "entity_scores"
    article_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # entity | document (the document score stands in)
    relevance: Mapped[float] = mapped_column(Float)  # 0..1 (shown as 0-100)
    in_title: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    mentions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    sentiment: Mapped[str] = mapped_column(String(16))
    sentiment_probs: Mapped[list[float]] = mapped_column(ARRAY(Float))  # negative, neutral, positive
    score: Mapped[float] = mapped_column(Float)  # P(positive) - P(negative), in [-1, 1]
    confidence: Mapped[float] = mapped_column(Float)
    published_at: Mapped[datetime] = mapped_column(TZ)  # copied from the article: bucket key
    scored_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    __table_args__ = (
        CheckConstraint("source IN ('entity', 'document')", name="source"),
        CheckConstraint("relevance >= 0 AND relevance <= 1", name="relevance"),
        Index("ix_entity_scores_entity_published", "entity", "published_at"),
    )


class SentenceScore(Base):
    """One model version's sentiment of one body sentence (``idx`` in body order) of an article."""

    __tablename__ = "sentence_scores"
    article_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    model_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    char_start: Mapped[int] = mapped_column(Integer)  # offsets into articles.body
    char_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[str] = mapped_column(String(16))
    sentiment_probs: Mapped[list[float]] = mapped_column(ARRAY(Float))
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)

    __table_args__ = (CheckConstraint("char_start >= 0 AND char_end >= char_start", name="span"),)


class Label(Base):
    """An analyst's topic and/or sentiment label for an article or a free text."""

    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    article_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[int | None] = mapped_column(SmallInteger)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    labeled_by: Mapped[str] = mapped_column(String(128))
    labeled_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now(), index=True)
    origin: Mapped[str] = mapped_column(String(32), server_default="api")


class Alert(Base):
    """One anomaly episode of a rule on a scope (open -> acknowledged -> resolved)."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    scope_kind: Mapped[str] = mapped_column(String(16))  # topic | entity | source | all
    scope_value: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    opened_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(TZ)
    acknowledged_at: Mapped[datetime | None] = mapped_column(TZ)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    last_notified_at: Mapped[datetime | None] = mapped_column(TZ)
    window_start: Mapped[datetime] = mapped_column(TZ)
    window_end: Mapped[datetime] = mapped_column(TZ)
    value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[float | None] = mapped_column(Float)
    statistic: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        Index("ix_alerts_opened_at", "opened_at"),
        # One live episode per (rule, scope).
        Index(
            "uq_alerts_live_episode",
            "rule_id",
            "scope_kind",
            "scope_value",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
        ),
    )


class WebhookSubscription(Base):
    """An analyst's webhook: where to send alerts, the signing secret, and filters."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16), server_default="json")  # json | slack
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class WebhookDelivery(Base):
    """One notification of one alert event to one subscription (retried until delivered/failed)."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="SET NULL"), index=True
    )
    event: Mapped[str] = mapped_column(String(32))  # opened | updated | resolved | test
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        Index(
            "ix_webhook_deliveries_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class WebhookAttempt(Base):
    """The log of every delivery attempt."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Float)


class ModelVersion(Base):
    """The model registry: one row per trained version; at most one is in production."""

    __tablename__ = "model_versions"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default="candidate")
    path: Mapped[str] = mapped_column(Text)
    base_model: Mapped[str | None] = mapped_column(Text)
    parent_version: Mapped[str | None] = mapped_column(String(64))
    data_fingerprint: Mapped[str | None] = mapped_column(String(128))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    promoted_at: Mapped[datetime | None] = mapped_column(TZ)

    __table_args__ = (
        Index(
            "uq_model_versions_one_production",
            "status",
            unique=True,
            postgresql_where=text("status = 'production'"),
        ),
    )


class CrawlState(Base):
    """Per-URL crawl state: conditional-GET validators and polling schedule (survives restarts)."""

    __tablename__ = "crawl_state"
    url: Mapped[str] = mapped_column(Text, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(128), index=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column(TZ)
    last_status: Mapped[int | None] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_poll_at: Mapped[datetime | None] = mapped_column(TZ)


class DeadLetter(Base):
    """Bad input that could not be processed, kept with the reason (never silently dropped)."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(32))  # ingest | stream | alerts | labels
    source: Mapped[str | None] = mapped_column(Text)  # source id or topic
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    key: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    error_type: Mapped[str] = mapped_column(String(128))
    error: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now(), index=True)


class ReconcilePass(Base):
    """One reconciliation pass: emitted-but-unscored articles put back into the outbox."""

    __tablename__ = "reconcile_passes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(TZ, server_default=func.now(), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # schedule | broker_restart | manual
    cutoff: Mapped[datetime] = mapped_column(TZ)  # articles emitted before this were candidates
    found: Mapped[int] = mapped_column(Integer)  # unscored candidates seen (at most max + 1)
    reemitted: Mapped[int] = mapped_column(Integer)  # put back into the outbox
