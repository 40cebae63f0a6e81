"""The event-time watermark that drives the rule engine from the scored topic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from finsent.alerts.stream_driver import ScoredWatermark

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("published_offsets_s", "lateness_s", "expected_offset_s"),
    [
        ([-600], 30, -630),  # newest minus lateness
        ([-600, -300, -900], 30, -330),  # the newest wins, order does not matter
        ([120], 30, -30),  # a future timestamp counts as now: it cannot close windows early
        ([-600], 0, -600),
    ],
)
def test_watermark_is_newest_event_minus_lateness(
    published_offsets_s: list[int],
    lateness_s: int,
    expected_offset_s: int,
    scored_record: Callable[..., bytes],
) -> None:
    clock = ScoredWatermark(lateness=timedelta(seconds=lateness_s))
    for offset in published_offsets_s:
        clock.observe(scored_record(NOW + timedelta(seconds=offset)), now=NOW)
    assert clock.advance(now=NOW) == NOW + timedelta(seconds=expected_offset_s)


def test_watermark_only_moves_forward(scored_record: Callable[..., bytes]) -> None:
    clock = ScoredWatermark(lateness=timedelta(0))
    assert clock.advance(now=NOW) is None  # nothing seen yet
    clock.observe(scored_record(NOW - timedelta(minutes=5)), now=NOW)
    assert clock.advance(now=NOW) == NOW - timedelta(minutes=5)
    assert clock.advance(now=NOW) is None  # unchanged: no second evaluation
    clock.observe(scored_record(NOW - timedelta(minutes=9)), now=NOW)  # late record
    assert clock.advance(now=NOW) is None
    clock.observe(scored_record(NOW - timedelta(minutes=1)), now=NOW)
    assert clock.advance(now=NOW) == NOW - timedelta(minutes=1)


@pytest.mark.parametrize("raw", [None, b"", b"not json", b'{"kind": "scored_article", "v": 99}'])
def test_malformed_scored_records_are_ignored(raw: bytes | None) -> None:
    clock = ScoredWatermark(lateness=timedelta(seconds=5))
    clock.observe(raw, now=NOW)
    assert clock.newest is None and clock.advance(now=NOW) is None


def test_the_service_clock_trails_by_the_configured_lateness(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import create_engine

    from finsent.alerts.service import AlertService
    from finsent.core.errors import ConfigError
    from finsent.core.settings import Settings

    monkeypatch.setenv("FINSENT_ALERTS__WATERMARK_LATENESS", "2s")
    db = create_engine("postgresql+psycopg://finsent@127.0.0.1:9/finsent")  # never connected here
    service = AlertService.from_settings(Settings.load(), db, topic_labels=None)
    assert service.lateness == timedelta(seconds=2)
    monkeypatch.setenv("FINSENT_ALERTS__WATERMARK_LATENESS", "-1s")
    with pytest.raises(ConfigError, match="WATERMARK_LATENESS"):
        Settings.load()
