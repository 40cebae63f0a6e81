"""Messages in and out of the scoring worker, independent of Faust (so the logic is testable).

An :class:`InboundMessage` is one consumed Kafka record; :func:`decode_batch` turns a batch of
them into article records plus :class:`DeadLetter` entries for the ones that do not decode.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from finsent.core.records import ArticleRecord, SchemaError
from finsent.stream.sanitise import salvage_record
from finsent.stream.topics import DLQ_HEADERS

__all__ = ["DeadLetter", "InboundMessage", "OutboundMessage", "decode_batch"]

#: Longest reason kept in a dead-letter header (the table keeps 10,000 characters).
MAX_REASON_CHARS = 2000


@dataclass(frozen=True)
class InboundMessage:
    """One consumed record: where it came from and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class OutboundMessage:
    """One record to produce."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    """A consumed record that cannot be processed, and why."""

    message: InboundMessage
    error_type: str
    error: str

    @classmethod
    def of(cls, message: InboundMessage, exc: BaseException) -> DeadLetter:
        """The dead letter for ``message`` failing with ``exc``."""
        reason = str(exc).strip() or type(exc).__name__
        return cls(message, type(exc).__name__, reason)

    def headers(self) -> tuple[tuple[str, bytes], ...]:
        """Kafka headers named by :data:`stream.topics.DLQ_HEADERS` (UTF-8 values)."""
        values = (
            self.error_type,
            self.error[:MAX_REASON_CHARS],
            self.message.topic,
            str(self.message.partition),
            str(self.message.offset),
        )
        return tuple((name, value.encode("utf-8")) for name, value in zip(DLQ_HEADERS, values, strict=True))

    def outbound(self) -> OutboundMessage:
        """The dead-letter record: the original key and bytes, the reason in the headers."""
        return OutboundMessage(self.message.key, self.message.value, self.headers())


def decode_batch(
    messages: Sequence[InboundMessage], *, salvaged: dict[str, Counter[str]] | None = None
) -> tuple[list[tuple[InboundMessage, ArticleRecord]], list[DeadLetter]]:
    """Decode a batch of raw-article messages.

    A record that fails schema validation becomes a dead letter -- unless ``salvaged`` is given
    and the record validates once its invalid entity mentions are dropped
    (:func:`stream.sanitise.salvage_record`): then it is kept and what was dropped is counted in
    ``salvaged[record.id]``. When the same article id occurs more than once in the batch only its
    last occurrence is kept (the others are re-deliveries of the same article and need no second
    score).

    Returns:
        ``(decoded, dead_letters)``; ``decoded`` keeps the order of the messages.
    """
    dead: list[DeadLetter] = []
    by_id: dict[str, tuple[InboundMessage, ArticleRecord]] = {}
    for message in messages:
        try:
            record = ArticleRecord.from_bytes(message.value)
        except SchemaError as exc:
            if salvaged is None:
                dead.append(DeadLetter.of(message, exc))
                continue
            try:
                record, dropped = salvage_record(message.value)
            except SchemaError:
                dead.append(DeadLetter.of(message, exc))  # the original reason, not the retry's
                continue
            salvaged[record.id] = dropped
        by_id.pop(record.id, None)
        by_id[record.id] = (message, record)
    return list(by_id.values()), dead
