"""A worker whose metrics port is taken keeps running and serves /metrics on another port."""

from __future__ import annotations

import logging
import socket
import urllib.request

import pytest

from finsent.stream.metrics import StreamMetrics


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


def test_a_taken_metrics_port_moves_this_worker_to_a_free_one(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as holder:  # the first worker on this host
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        metrics = StreamMetrics()
        metrics.articles_scored.labels(model_version="v1").inc(3)
        with caplog.at_level(logging.WARNING, logger="finsent.stream.metrics"):
            served = metrics.serve(taken, addr="127.0.0.1")
        assert served not in (0, taken)
        assert f"metrics port {taken} is in use" in caplog.text and str(served) in caplog.text
        assert 'finsent_stream_articles_scored_total{model_version="v1"} 3.0' in _scrape(served)


def test_a_free_port_is_used_as_given_and_zero_serves_nothing() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert StreamMetrics().serve(free, addr="127.0.0.1") == free
    assert "finsent_stream_batch_size" in _scrape(free)
    assert StreamMetrics().serve(0) == 0
