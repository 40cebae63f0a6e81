"""Every Kafka topic finsent uses, in one place (the dead-letter topic included)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DLQ_HEADERS", "Topics"]

#: Header names on dead-letter records: why the record failed and where it came from.
DLQ_HEADERS = ("error_type", "error", "source_topic", "partition", "offset")


@dataclass(frozen=True)
class Topics:
    """Topic names, derived from a prefix so several deployments can share one cluster."""

    prefix: str = "finsent"

    @property
    def raw_articles(self) -> str:
        """Normalised articles from the crawlers (key: article id; value: ArticleRecord)."""
        return f"{self.prefix}.articles.raw"

    @property
    def scored_articles(self) -> str:
        """Articles with their scores (key: article id; value: ScoredArticleRecord)."""
        return f"{self.prefix}.articles.scored"

    @property
    def alerts(self) -> str:
        """Alert lifecycle events (key: rule id + scope; value: AlertRecord)."""
        return f"{self.prefix}.alerts"

    @property
    def dead_letters(self) -> str:
        """Records that could not be processed; original bytes + reason in headers."""
        return f"{self.prefix}.deadletter"

    def all(self) -> list[str]:
        """Every topic, in pipeline order."""
        return [self.raw_articles, self.scored_articles, self.alerts, self.dead_letters]
