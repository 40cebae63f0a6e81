"""Stream stage: Faust workers that score articles and write them to PostgreSQL.

Light on import: the topic names and message schemas are importable without Faust or torch.
"""

from stream.records import (
    AlertRecord,
    ArticleRecord,
    EntityMention,
    SchemaError,
    ScoredArticleRecord,
    decode,
)
from stream.topics import DLQ_HEADERS, Topics

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
