"""The one set of delivery guarantees: what every producer, consumer and admin client is built with."""

from __future__ import annotations

import pytest

from finsent.stream.kafka import DEFAULT_GUARANTEES, DeliveryGuarantees, servers, tcp_reachable


@pytest.mark.parametrize(
    "guarantees",
    [
        DEFAULT_GUARANTEES,
        DeliveryGuarantees(request_timeout_s=40, delivery_timeout_s=1),
        DeliveryGuarantees(request_timeout_s=0.1, linger_s=0.5),
    ],
)
def test_producer_config_is_idempotent_acks_all_and_bounded(guarantees: DeliveryGuarantees) -> None:
    config = guarantees.producer_config("a:1, b:2", "finsent-x")
    assert config["acks"] == "all" and config["enable_idempotence"] is True
    assert config["bootstrap_servers"] == ["a:1", "b:2"] and config["client_id"] == "finsent-x"
    assert 0 < config["retries"] < 100
    # kafka-python refuses a delivery timeout shorter than one request plus the linger.
    assert config["delivery_timeout_ms"] >= config["request_timeout_ms"] + config["linger_ms"]
    assert all(config[k] > 0 for k in ("max_block_ms", "bootstrap_timeout_ms", "request_timeout_ms"))


def test_consumer_and_admin_configs_bound_every_wait() -> None:
    consumer = DEFAULT_GUARANTEES.consumer_config("a:1", "c")
    admin = DEFAULT_GUARANTEES.admin_config("a:1", "c")
    assert consumer["request_timeout_ms"] > admin["request_timeout_ms"] > 0
    assert admin["bootstrap_timeout_ms"] > 0


@pytest.mark.parametrize(
    ("bootstrap", "expected"),
    [("a:1", ["a:1"]), (" a:1 ,b:2,", ["a:1", "b:2"]), ("", [])],
)
def test_servers_split_the_bootstrap_list(bootstrap: str, expected: list[str]) -> None:
    assert servers(bootstrap) == expected


@pytest.mark.parametrize("bootstrap", ["", "no-port", "127.0.0.1:notaport", "[::1"])
def test_tcp_probe_of_nonsense_is_false_not_an_error(bootstrap: str) -> None:
    assert tcp_reachable(bootstrap, 0.2) is False
