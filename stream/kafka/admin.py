"""The admin client (topic creation, cluster health) with the bounded waits of :class:`DeliveryGuarantees`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from finsent.stream.exceptions import KafkaUnavailableError
from finsent.stream.kafka.config import DEFAULT_GUARANTEES, DeliveryGuarantees

if TYPE_CHECKING:
    from kafka.admin import KafkaAdminClient

__all__ = ["open_admin"]


@contextlib.contextmanager
def open_admin(
    bootstrap: str,
    *,
    timeout_s: float | None = None,
    client_id: str = "finsent-admin",
    guarantees: DeliveryGuarantees = DEFAULT_GUARANTEES,
) -> Iterator[KafkaAdminClient]:
    """A kafka-python admin client for the ``with`` block, closed after it.

    Args:
        bootstrap: Comma separated ``host:port`` list of the brokers.
        timeout_s: Timeout of each admin request (default: the guarantees' request timeout).
        client_id: Name the broker logs see.
        guarantees: Timeouts (default: :data:`DEFAULT_GUARANTEES`).

    Raises:
        KafkaUnavailableError: no broker answered the bootstrap.
    """
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    if timeout_s is not None:
        guarantees = replace(guarantees, request_timeout_s=timeout_s)
    try:
        admin = KafkaAdminClient(**guarantees.admin_config(bootstrap, client_id))
    except (KafkaError, OSError, ValueError) as exc:
        raise KafkaUnavailableError(f"Kafka at {bootstrap} unreachable: {exc}") from exc
    try:
        yield admin
    finally:
        admin.close()
