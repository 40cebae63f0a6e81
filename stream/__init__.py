"""Stream stage: Faust workers that score articles and write them to PostgreSQL.

Light on import: the topic names and message schemas are importable without Faust or torch.
:mod:`finsent.stream.kafka` builds every Kafka client outside Faust (ingest, alerts, the runtime)
with one set of delivery guarantees.
"""

from finsent.core.records import (
    AlertRecord,
    ArticleRecord,
    EntityMention,
    SchemaError,
    ScoredArticleRecord,
    decode,
)
from finsent.stream.topics import DLQ_HEADERS, Topics

__all__ = [
    "DLQ_HEADERS",
    "AlertRecord",
    "ArticleRecord",
    "EntityMention",
    "SchemaError",
    "ScoredArticleRecord",
    "Topics",
    "decode",
]
