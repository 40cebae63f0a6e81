"""Grafana PostgreSQL macro expansion, as Grafana itself expands them (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from finsent.dashboards.exceptions import PanelSqlError
from finsent.dashboards.grafana_sql import expand_macros, parse_interval

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
END = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "WHERE $__timeFilter(bucket)",
            "WHERE bucket BETWEEN '2024-05-01T12:00:00Z' AND '2024-05-01T18:00:00Z'",
        ),
        (
            "x >= $__timeFrom() AND x < $__timeTo()",
            "x >= '2024-05-01T12:00:00Z' AND x < '2024-05-01T18:00:00Z'",
        ),
        ("SELECT $__timeGroup(t, '5m')", "SELECT floor(extract(epoch from t)/300)*300"),
        (
            "SELECT $__timeGroupAlias(a.bucket, $__interval)",
            'SELECT floor(extract(epoch from a.bucket)/120)*120 AS "time"',
        ),
        ("SELECT $__timeGroupAlias(t, 1h), 1", 'SELECT floor(extract(epoch from t)/3600)*3600 AS "time", 1'),
        ("LIMIT $__interval_ms", "LIMIT 120000"),
        ("WHERE $__unixEpochFilter(ts)", "WHERE ts >= 1714564800 AND ts <= 1714586400"),
        ("entity = upper('$ticker')", "entity = upper('TSLA')"),
        ('AS "${ticker} sentiment"', 'AS "TSLA sentiment"'),
        ("no macros at all", "no macros at all"),
    ],
)
def test_expand_macros(sql: str, expected: str) -> None:
    got = expand_macros(
        sql, start=START, end=END, interval=timedelta(minutes=2), variables={"ticker": "TSLA"}
    )
    assert got == expected


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT $__timeEpoch(t)", "unsupported Grafana macro"),
        ("WHERE topic IN ($topic)", "unknown dashboard variable $topic"),
        ("SELECT $__timeGroup(t, 'fortnight')", "not a Grafana interval"),
    ],
)
def test_unknown_macros_and_variables_fail_loudly(sql: str, message: str) -> None:
    with pytest.raises(PanelSqlError, match=message.replace("$", r"\$")):
        expand_macros(sql, start=START, end=END)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("30s", 30), ("'5m'", 300), ("1h", 3600), ("2d", 172800), ("500ms", 0.5), (" 1w ", 604800)],
)
def test_parse_interval(raw: str, seconds: float) -> None:
    assert parse_interval(raw).total_seconds() == seconds


@pytest.mark.parametrize("raw", ["5", "'5'", "0s", "-1m", "'5m", "five minutes", ""])
def test_parse_interval_rejects(raw: str) -> None:
    with pytest.raises(PanelSqlError, match="not a Grafana interval"):
        parse_interval(raw)
