"""Request bodies and response models of the HTTP API (they also document it at ``/docs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from finsent.core.alerts import AlertPayload

__all__ = [
    "AckIn",
    "AggregatePoint",
    "AggregateSeries",
    "AggregatesOut",
    "AlertOut",
    "AlertPage",
    "ArticleDetail",
    "ArticleOut",
    "ArticlePage",
    "CheckOut",
    "EntityArticleOut",
    "EntityOut",
    "EntityOwnScoreOut",
    "EntityScoreOut",
    "EntitySummaryOut",
    "HealthOut",
    "LabelIn",
    "LabelOut",
    "LabelQueueOut",
    "ModelOut",
    "QueueItem",
    "ScoreOut",
    "Sentiment",
    "WebhookCreated",
    "WebhookFilters",
    "WebhookIn",
    "WebhookOut",
]

Sentiment = Literal["negative", "neutral", "positive"]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ScoreOut(_Out):
    """The score one model version gave an article."""

    model_version: str
    topic: int
    topic_label: str
    sentiment: str
    score: float = Field(description="P(positive) - P(negative), in [-1, 1].")
    confidence: float
    sentiment_probs: list[float] = Field(description="negative, neutral, positive")
    topic_probs: list[float] | None = None
    scored_at: datetime


class ArticleOut(_Out):
    """An article in a listing, with the score currently shown for it."""

    id: str
    source_id: str | None
    url: str | None
    canonical_url: str | None
    title: str
    summary: str = Field(description="The first characters of the body.")
    published_at: datetime
    fetched_at: datetime
    language: str
    tickers: list[str]
    novelty: float
    score: ScoreOut | None = Field(description="Production model's score, else the newest one.")


class ArticlePage(_Out):
    """One page of articles."""

    items: list[ArticleOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class ArticleDetail(ArticleOut):
    """One article with its body, entities, every model version's score and its labels."""

    body: str
    entities: list[dict[str, Any]]
    cluster_id: str | None
    scores: list[ScoreOut]
    labels: list[dict[str, Any]]


class AggregatePoint(_Out):
    """One bucket of a series."""

    t: datetime
    n: int
    n_negative: int
    n_neutral: int
    n_positive: int
    mean_score: float | None
    negative_share: float | None


class AggregateSeries(_Out):
    """The series of one topic, one entity or all articles."""

    key: str
    label: str
    points: list[AggregatePoint]


class AggregatesOut(_Out):
    """Time series behind the charts."""

    scope: str
    bucket: str
    start: datetime
    end: datetime
    series: list[AggregateSeries]


class EntityScoreOut(_Out):
    """A score as the entity view shows it."""

    model_config = ConfigDict(from_attributes=True, protected_namespaces=())
    model_version: str
    sentiment: str
    score: float = Field(description="P(positive) - P(negative), in [-1, 1].")
    confidence: float
    sentiment_probs: list[float] = Field(description="negative, neutral, positive")
    scored_at: datetime | None = None


class EntityOwnScoreOut(EntityScoreOut):
    """The entity's own score in one article."""

    source: Literal["entity", "document"] = Field(
        description="'entity': scored for this entity; 'document': the article's score stands in."
    )


class EntityArticleOut(_Out):
    """One of an entity's latest articles, with that entity's own score and relevance."""

    id: str
    title: str
    url: str | None
    source_id: str | None
    published_at: datetime
    tickers: list[str]
    relevance: int = Field(ge=0, le=100, description="How much the story is about the entity, 0-100.")
    entity: EntityOwnScoreOut | None = Field(description="The entity's own score; None if not scored yet.")
    document: EntityScoreOut | None = Field(description="The whole article's score.")


class EntitySummaryOut(_Out):
    """The entity's totals over the range."""

    n: int
    n_negative: int
    n_neutral: int
    n_positive: int
    negative_share: float | None
    relevance_sum: float = Field(description="Sum of the articles' relevance (0-1 each).")
    weighted_score: float | None = Field(description="Relevance-weighted mean signed score.")


class EntityOut(_Out):
    """One entity's view: sentiment index and volume over the range, and its latest articles."""

    ticker: str
    name: str | None
    start: datetime
    end: datetime
    bucket: str
    summary: EntitySummaryOut
    points: list[AggregatePoint] = Field(
        description="Per bucket: volume, relevance-weighted mean score (empty buckets left out)."
    )
    articles: list[EntityArticleOut]


#: One anomaly episode: the alert contract itself, as webhooks and the alerts topic see it too.
AlertOut = AlertPayload


class AlertPage(_Out):
    """One page of alerts."""

    items: list[AlertOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class AckIn(BaseModel):
    """Who acknowledges an alert."""

    model_config = ConfigDict(extra="forbid")
    by: str = Field("api", min_length=1, max_length=128, description="Name of the analyst.")


Severity = Literal["info", "warning", "critical"]


class WebhookFilters(BaseModel):
    """Which alert events a subscription receives (``alerts.webhooks.subscription_matches``).

    Every filter is optional and all must hold; a subscription without filters gets every
    opened and updated alert.
    """

    model_config = ConfigDict(extra="forbid")
    events: list[Literal["opened", "updated", "resolved"]] | None = Field(
        default=None, min_length=1, description="Default: opened and updated."
    )
    rules: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        default=None, min_length=1, description="Rule ids."
    )
    severities: list[Severity] | None = Field(default=None, min_length=1)
    min_severity: Severity | None = None
    scopes: list[Annotated[str, Field(pattern=r"^(all|topic|entity|source)(:[^\s]{1,128})?$")]] | None = (
        Field(default=None, min_length=1, description='e.g. "entity:TSLA", "topic:*", "all".')
    )


class WebhookIn(BaseModel):
    """A new webhook subscription."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl = Field(description="http(s) URL that receives signed alert notifications.")
    secret: str | None = Field(
        None, min_length=16, max_length=256, description="Signing secret; generated when left out."
    )
    format: Literal["json", "slack"] = "json"
    filters: WebhookFilters = Field(WebhookFilters(), description="Which alerts to send.")
    active: bool = True


class WebhookOut(_Out):
    """A webhook subscription (the secret is shown only once, when created)."""

    id: int
    url: str
    format: str
    filters: dict[str, Any]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    """The created subscription with its signing secret."""

    secret: str


class LabelIn(BaseModel):
    """An analyst's label for an article (or a free text)."""

    model_config = ConfigDict(extra="forbid")
    article_id: str | None = Field(None, min_length=1, max_length=64)
    text: str | None = Field(
        None, min_length=1, max_length=10_000, description="Required when article_id is left out."
    )
    topic: int | None = Field(None, ge=0, le=19)
    sentiment: Sentiment | None = None
    labeled_by: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _something_to_learn(self) -> LabelIn:
        if self.topic is None and self.sentiment is None:
            raise ValueError("give a topic, a sentiment or both")
        if self.article_id is None and (self.text is None or not self.text.strip()):
            raise ValueError("give article_id or a non-empty text")
        return self


class LabelOut(_Out):
    """A stored label."""

    id: int
    article_id: str | None
    text: str
    topic: int | None
    sentiment: str | None
    labeled_by: str
    labeled_at: datetime
    origin: str


class QueueItem(_Out):
    """An article proposed for labelling, with why."""

    article_id: str
    title: str
    text: str = Field(description="The text the models score (title + lead).")
    url: str | None
    published_at: datetime
    priority: float = Field(description="max(uncertainty, disagreement), in [0, 1].")
    uncertainty: float
    disagreement: float
    sentiment: str = Field(description="Predicted sentiment.")
    topic: int = Field(description="Predicted topic.")
    topic_label: str
    reason: str


class LabelQueueOut(_Out):
    """The labelling queue."""

    model_config = ConfigDict(from_attributes=True, protected_namespaces=())
    model_version: str | None = Field(description="Production model whose scores are ranked.")
    previous_version: str | None = None
    items: list[QueueItem]
    candidates: int = Field(description="Unlabelled articles that passed the filters.")
    limit: int
    offset: int


class ModelOut(_Out):
    """A registered model version."""

    model_config = ConfigDict(from_attributes=True, protected_namespaces=())
    version: str
    status: str
    path: str
    base_model: str | None
    parent_version: str | None
    data_fingerprint: str | None
    metrics: dict[str, Any]
    notes: str | None
    created_at: datetime
    promoted_at: datetime | None


class CheckOut(BaseModel):
    """One health check."""

    ok: bool
    detail: str
    info: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    """``/healthz``: overall status and each check."""

    status: Literal["ok", "degraded"]
    checks: dict[str, CheckOut]
