"""Rule-file validation: good files load, bad ones are rejected whole with the problem named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from finsent.alerts.exceptions import RuleFileError
from finsent.alerts.rules import NegativeSurgeRule, load_rules, parse_rules
from finsent.core.durations import parse_duration

TOPICS = ["Analyst Update", "Fed / Central Banks", "Earnings"]

GOOD = """
version: 1
rules:
  - id: tsla-surge
    kind: negative_surge
    scope: {kind: entity, value: $tsla}
    window: 15m
  - id: earnings-volume
    kind: volume_spike
    scope: {kind: topic, value: earnings}
    window: 1h
    step: 15m
    severity: critical
"""


def test_good_file_loads_and_normalises_scopes() -> None:
    rules = parse_rules(GOOD, topic_labels=TOPICS)
    surge, volume = rules.rules
    assert isinstance(surge, NegativeSurgeRule)
    assert surge.scope.value == "TSLA"
    assert surge.window == timedelta(minutes=15) and surge.every == timedelta(minutes=15)
    assert volume.scope.value == "Earnings"
    assert volume.every == timedelta(minutes=15)
    assert rules.topic_id("Earnings") == 2


def test_bundled_defaults_are_valid() -> None:
    rules = load_rules(topic_labels=TOPICS)
    assert {r.kind for r in rules.rules} >= {"negative_surge", "volume_spike", "sentiment_shift"}


def _rule(**fields: object) -> str:
    base: dict[str, object] = {
        "id": "r1",
        "kind": "threshold",
        "scope": "{kind: all}",
        "window": "15m",
        "metric": "count",
        "value": 10,
    }
    base.update(fields)
    body = "\n".join(f"    {k}: {v}" for k, v in base.items() if v is not None)
    return "rules:\n  - " + body.lstrip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_rule(kind="wobble"), "rule 'r1' (rules[0]): kind: unknown rule kind 'wobble'"),
        (_rule(kind=None), "kind: missing"),
        (_rule(window="-15m"), "rule 'r1' (rules[0]): window: must be a positive duration"),
        (_rule(window="0m"), "window: must be a positive duration"),
        (_rule(window="90s"), "window: must be a whole number of minutes"),
        (_rule(window="soon"), "window: expected a duration"),
        (_rule(scope="{kind: topic, value: Astrology}"), "unknown topic 'Astrology'"),
        (_rule(scope="{kind: galaxy}"), "scope.kind"),
        (_rule(scope="{kind: all, value: TSLA}"), "scope 'all' takes no value"),
        (_rule(severity="apocalyptic"), "severity"),
        (_rule(cooldown="-1h"), "cooldown: must not be negative"),
        (_rule(metric="vibes"), "metric"),
        (_rule(colour="red"), "colour: Extra inputs are not permitted"),
        (_rule(id="'bad id!'"), "id"),
        ("rules: [", "not valid YAML"),
        ("- just a list", "expected a mapping"),
    ],
)
def test_bad_rule_files_are_rejected_with_the_problem_named(text: str, expected: str) -> None:
    with pytest.raises(RuleFileError) as info:
        parse_rules(text, source="bad.yaml", topic_labels=TOPICS)
    assert expected in str(info.value)
    assert "bad.yaml" in str(info.value)


def test_one_bad_rule_rejects_the_whole_file() -> None:
    text = (
        GOOD + "  - {id: broken, kind: threshold, scope: {kind: all}, window: -5m, metric: count, value: 1}\n"
    )
    with pytest.raises(RuleFileError, match="rule 'broken' \\(rules\\[2\\]\\): window"):
        parse_rules(text, topic_labels=TOPICS)


def test_duplicate_ids_rejected() -> None:
    text = GOOD.replace("earnings-volume", "tsla-surge")
    with pytest.raises(RuleFileError, match="used twice"):
        parse_rules(text, topic_labels=TOPICS)


def test_missing_file_is_a_rule_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rules(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [("15m", 15), ("2h", 120), ("7d", 7 * 1440), ("1w", 7 * 1440), ("1.5h", 90), ("120s", 2), (" 5 m ", 5)],
)
def test_rule_durations_use_the_one_duration_syntax(raw: object, minutes: int) -> None:
    assert parse_duration(raw) == timedelta(minutes=minutes)


@pytest.mark.parametrize("raw", ["", "m", "ten minutes", True, None])
def test_parse_duration_rejects(raw: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(raw)


@pytest.mark.parametrize("window", ["8", "30", "1.5"])
def test_a_bare_number_window_is_rejected_with_the_units_to_add(window: str) -> None:
    # `window: 8` once meant 8 minutes here and 8 seconds for `--event`: now it means nothing.
    text = f"rules:\n  - {{id: a, kind: negative_surge, scope: {{kind: all}}, window: {window}}}\n"
    with pytest.raises(RuleFileError, match=rf"window.*no unit: write {window}s or {window}m"):
        parse_rules(text, topic_labels=TOPICS)
