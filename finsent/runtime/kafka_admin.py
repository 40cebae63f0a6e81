"""Kafka admin tasks of the runtime: health probe and idempotent topic creation.

The admin client itself comes from :func:`finsent.stream.kafka.open_admin` (the one place Kafka
clients are built).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from finsent.core.errors import RetryableError
from finsent.stream.kafka import KafkaUnavailableError, open_admin, tcp_reachable

__all__ = ["create_topics", "kafka_healthy"]

log = logging.getLogger(__name__)

_TOPIC_EXISTS = TopicAlreadyExistsError.errno


def kafka_healthy(bootstrap: str, timeout_s: float = 3.0) -> bool:
    """Whether the broker answers a metadata request (a TCP probe first, so a dead port is fast)."""
    if not tcp_reachable(bootstrap, timeout_s):
        return False
    try:
        with open_admin(bootstrap, timeout_s=timeout_s) as admin:
            return bool(admin.describe_cluster().get("brokers"))
    except (KafkaUnavailableError, KafkaError, OSError):
        return False


def create_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 1,
    *,
    replication_factor: int = 1,
    timeout_s: float = 10.0,
) -> list[str]:
    """Create the topics that do not exist yet (existing ones are left as they are).

    Args:
        bootstrap: comma separated ``host:port`` list.
        topics: topic names.
        partitions: partitions of each new topic.
        replication_factor: replicas of each new topic (1 for the embedded broker).
        timeout_s: timeout of each admin request.

    Returns:
        The names that were created by this call.

    Raises:
        RetryableError: the broker is unreachable or refused a topic for another reason.
    """
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return []
    new = [NewTopic(name, partitions, replication_factor) for name in wanted]
    try:
        with open_admin(bootstrap, timeout_s=timeout_s) as admin:
            result = admin.create_topics(new, timeout_ms=int(timeout_s * 1000), raise_errors=False)
    except KafkaError as exc:
        raise RetryableError(f"creating topics on {bootstrap} failed: {exc}") from exc
    created, problems = [], []
    for item in result.get("topics", []):
        code = item.get("error_code", 0)
        if code == 0:
            created.append(item["name"])
        elif code != _TOPIC_EXISTS:
            problems.append(f"{item['name']}: error {code} {item.get('error_message') or ''}".strip())
    if problems:
        raise RetryableError("could not create topics: " + "; ".join(problems))
    if created:
        log.info("created topics %s", ", ".join(created))
    return created
