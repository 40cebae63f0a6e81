"""Alert rules: pydantic models of the YAML rule file, validated as a whole at load.

A rule file looks like::

    version: 1
    rules:
      - id: entity-negative-surge
        kind: negative_surge          # negative_surge | volume_spike | sentiment_shift | threshold
        scope: {kind: entity, value: "*"}   # topic | entity | source | all; "*" = each one separately
        window: 15m                   # whole minutes: 15m, 2h, 1d (a bare number is rejected)
        step: 1m                      # evaluate a window ending at every minute close (sliding)
        severity: warning             # info | warning | critical
        cooldown: 1h                  # no repeat notification of the same (rule, scope) inside it
        min_count: 8                  # articles the window needs before the rule may fire

``step`` smaller than ``window`` makes windows slide: the window ``[end - window, end)`` is
evaluated at every ``step`` boundary, so a surge is seen as soon as the first minute of it closes.
Overlapping windows of one episode update its alert; ``resolve_after`` counts normal stretches of
a whole window each (not evaluations), so a sliding rule resolves after as much quiet time as a
tumbling one and does not flap between overlapping windows.

An invalid file raises :class:`~alerts.exceptions.RuleFileError` naming the rule and the field;
nothing of it is used (callers keep the rule set they had).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from finsent.alerts.exceptions import RuleFileError
from finsent.core.durations import Duration

__all__ = [
    "AnyRule",
    "EventRule",
    "NegativeSurgeRule",
    "Rule",
    "RuleSet",
    "Scope",
    "SentimentShiftRule",
    "ThresholdRule",
    "VolumeSpikeRule",
    "default_rules_path",
    "load_rules",
    "parse_rules",
]

ScopeKind = Literal["topic", "entity", "source", "all"]
Severity = Literal["info", "warning", "critical"]
RULE_KINDS = ("negative_surge", "volume_spike", "sentiment_shift", "threshold")


def _positive_minutes(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be a positive duration, got {_fmt(value)}")
    if value % timedelta(minutes=1):
        raise ValueError(f"must be a whole number of minutes (aggregates are per minute), got {_fmt(value)}")
    return value


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError(f"must not be negative, got {_fmt(value)}")
    return value


def _fmt(value: timedelta) -> str:
    return f"{int(value.total_seconds() // 60)}m" if not value % timedelta(minutes=1) else str(value)


#: A rule's durations use finsent's one syntax (``15m``, ``2h``, ``7d``); ``window: 8`` is rejected.
Window = Duration


class Scope(BaseModel):
    """What a rule watches: a topic, an entity (ticker), a source, or everything.

    ``value`` is one topic label (or id) / ticker / source id, or ``"*"`` for each one separately.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ScopeKind
    value: str = "*"

    @field_validator("value", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check_value(self, info: ValidationInfo) -> Scope:
        if not self.value.strip():
            raise ValueError("scope value is empty (use '*' for every one)")
        if self.kind == "all" and self.value not in ("*", "all"):
            raise ValueError(f"scope 'all' takes no value, got {self.value!r}")
        if self.kind == "entity" and self.value != "*":
            object.__setattr__(self, "value", self.value.upper().lstrip("$"))
        if self.kind == "topic" and self.value != "*":
            labels = (info.context or {}).get("topic_labels")
            object.__setattr__(self, "value", _resolve_topic(self.value, labels))
        return self

    @property
    def wildcard(self) -> bool:
        """True when the rule watches every topic/entity/source separately."""
        return self.kind != "all" and self.value == "*"


def _resolve_topic(value: str, labels: Sequence[str] | None) -> str:
    """A topic scope value normalised to its label (or its id when labels are unknown)."""
    if labels is None:
        if not value.isdigit():
            raise ValueError(f"unknown topic {value!r} (topic labels unavailable: give a topic id)")
        return value
    if value.isdigit() and int(value) < len(labels):
        return labels[int(value)]
    by_lower = {label.lower(): label for label in labels}
    if value.lower() not in by_lower:
        raise ValueError(f"unknown topic {value!r} (known: {', '.join(labels)})")
    return by_lower[value.lower()]


class RuleBase(BaseModel):
    """Fields shared by every rule kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    enabled: bool = True
    scope: Scope
    window: Window = Field(description="Length of the evaluated window (whole minutes).")
    step: Window | None = Field(None, description="Evaluate every step (default: the window, tumbling).")
    severity: Severity = "warning"
    cooldown: Window = Field(timedelta(hours=1), description="No repeat notification inside it.")
    min_count: int = Field(0, ge=0, description="Articles the window needs before the rule may fire.")
    resolve_after: int = Field(
        1, ge=1, description="Consecutive normal windows (each a whole window of time) that resolve an alert."
    )

    _check_window = field_validator("window")(_positive_minutes)
    _check_cooldown = field_validator("cooldown")(_non_negative)

    @field_validator("step")
    @classmethod
    def _check_step(cls, value: timedelta | None) -> timedelta | None:
        return None if value is None else _positive_minutes(value)

    @property
    def every(self) -> timedelta:
        """How often the rule is evaluated (its step, or its window when tumbling)."""
        return self.step or self.window

    @property
    def resolve_evaluations(self) -> int:
        """Consecutive normal evaluations that resolve an alert: ``resolve_after`` whole windows.

        A rule sliding by one minute over a 15-minute window with ``resolve_after: 2`` resolves
        after 30 normal evaluations (30 quiet minutes), as the tumbling rule does after two.
        """
        return self.resolve_after * max(self.window // self.every, 1)


class NegativeSurgeRule(RuleBase):
    """Negative share of the window vs the scope's baseline share, one-sided binomial test."""

    kind: Literal["negative_surge"]
    min_count: int = Field(8, ge=1)
    baseline: Window = Field(timedelta(days=7), description="Baseline period before the window.")
    max_p_value: float = Field(1e-4, gt=0, lt=1, description="Fire when the binomial p-value is below.")
    min_delta: float = Field(0.2, ge=0, le=1, description="And the share is at least this above baseline.")
    prior_share: float = Field(0.2, gt=0, lt=1, description="Baseline share assumed for a new scope.")
    prior_weight: float = Field(20.0, ge=0, description="Pseudo-articles of prior in the baseline.")
    dispersion: float = Field(1.5, ge=1, description="Variance inflation for clustered news (1 = binomial).")
    _check_baseline = field_validator("baseline")(_positive_minutes)


class VolumeSpikeRule(RuleBase):
    """Article count of the window vs an EWMA of the previous windows' counts."""

    kind: Literal["volume_spike"]
    min_count: int = Field(10, ge=1)
    baseline: Window = Field(timedelta(days=7), description="History the EWMA is computed over.")
    halflife: Window = Field(timedelta(days=1), description="Half-life of the EWMA weights.")
    z: float = Field(5.0, gt=0, description="Fire when (count - ewma) / sd exceeds it.")
    min_ratio: float = Field(3.0, ge=1, description="And the count is at least this times the EWMA.")
    _check_baseline = field_validator("baseline", "halflife")(_positive_minutes)


class SentimentShiftRule(RuleBase):
    """Mean signed score of the window vs the mean and std of the baseline windows' means."""

    kind: Literal["sentiment_shift"]
    min_count: int = Field(10, ge=1)
    baseline: Window = Field(timedelta(days=7), description="History of window means.")
    k: float = Field(3.0, gt=0, description="Fire when the mean moves by more than k baseline stds.")
    direction: Literal["down", "up", "both"] = "both"
    min_std: float = Field(0.05, ge=0, description="Floor of the baseline std (quiet scopes).")
    min_baseline_windows: int = Field(8, ge=2, description="Baseline windows needed to fire.")
    _check_baseline = field_validator("baseline")(_positive_minutes)


Metric = Literal[
    "count", "n_negative", "n_neutral", "n_positive", "negative_share", "positive_share", "mean_score"
]


class ThresholdRule(RuleBase):
    """A plain bound on an aggregate of the window (e.g. negative_share > 0.6)."""

    kind: Literal["threshold"]
    metric: Metric
    op: Literal[">", ">=", "<", "<="] = ">"
    value: float


Rule = Annotated[
    NegativeSurgeRule | VolumeSpikeRule | SentimentShiftRule | ThresholdRule, Field(discriminator="kind")
]


class EventRule(RuleBase):
    """A rule fired by an event another stage observes (a failed retraining run), not by aggregates.

    It is never read from a rule file (it is not part of :data:`Rule`) nor evaluated by the
    engine: the observing stage builds a :class:`~finsent.alerts.detectors.Detection` per event
    and runs the same lifecycle (:func:`~finsent.alerts.lifecycle.decide`) and store as the engine,
    so its alerts open, update, notify and resolve like every other alert.
    """

    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    window: Window = Field(timedelta(minutes=1), description="Unused: an event has no window.")


#: Any rule the lifecycle and the store handle: a rule file's, or an :class:`EventRule`.
AnyRule = NegativeSurgeRule | VolumeSpikeRule | SentimentShiftRule | ThresholdRule | EventRule


class RuleFile(BaseModel):
    """The whole YAML document."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


@dataclass(frozen=True)
class RuleSet:
    """A validated, immutable set of rules plus the topic labels it was checked against."""

    rules: tuple[Rule, ...]
    source: str = "<memory>"
    topic_labels: tuple[str, ...] | None = None
    by_id: dict[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {r.id: r for r in self.rules})

    @property
    def enabled(self) -> list[Rule]:
        """Rules that are switched on."""
        return [r for r in self.rules if r.enabled]

    def topic_label(self, topic_id: int) -> str:
        """Scope value of a topic id (its label when labels are known)."""
        if self.topic_labels is not None and 0 <= topic_id < len(self.topic_labels):
            return self.topic_labels[topic_id]
        return str(topic_id)

    def topic_id(self, value: str) -> int:
        """Topic id of a topic scope value (label or id)."""
        if value.isdigit():
            return int(value)
        if self.topic_labels is None or value not in self.topic_labels:
            raise KeyError(value)
        return self.topic_labels.index(value)


def default_rules_path() -> Path:
    """The bundled default rule file (``alerts/data/default_rules.yaml``)."""
    return Path(str(resources.files("finsent.alerts") / "data" / "default_rules.yaml"))


def load_rules(path: Path | str | None = None, *, topic_labels: Sequence[str] | None = None) -> RuleSet:
    """Read and validate a rule file (None: the bundled defaults).

    Raises:
        RuleFileError: unreadable file, bad YAML, or any invalid rule (named with its field).
    """
    target = Path(path) if path is not None else default_rules_path()
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{target}: cannot read rule file: {exc.strerror or exc}") from None
    return parse_rules(text, source=str(target), topic_labels=topic_labels)


def parse_rules(text: str, *, source: str = "<string>", topic_labels: Sequence[str] | None = None) -> RuleSet:
    """Validate a rule document given as YAML text.

    Raises:
        RuleFileError: bad YAML or any invalid rule; the message names the rule id and the field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RuleFileError(f"{source}: expected a mapping with a 'rules' list, got {type(data).__name__}")
    labels = tuple(topic_labels) if topic_labels is not None else None
    try:
        parsed = RuleFile.model_validate(data, context={"topic_labels": labels})
    except ValidationError as exc:
        problems = [_describe(err, data) for err in exc.errors()]
        listing = "\n  ".join(problems)
        raise RuleFileError(f"{source}: invalid rule file (nothing loaded):\n  {listing}") from None
    return RuleSet(rules=tuple(parsed.rules), source=source, topic_labels=labels)


def _describe(err: Any, data: dict[str, Any]) -> str:
    """One validation error as ``rule 'id' (rules[i]): field: message``."""
    loc = list(err["loc"])
    where = ".".join(str(p) for p in loc) or "<file>"
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        raw = data.get("rules") or []
        item = raw[loc[1]] if isinstance(raw, list) and loc[1] < len(raw) else None
        rule_id = item.get("id") if isinstance(item, dict) else None
        rest = [str(p) for p in loc[2:] if p not in RULE_KINDS]
        where = f"rule {rule_id!r} (rules[{loc[1]}])" + (f": {'.'.join(rest)}" if rest else "")
        if err["type"] == "union_tag_invalid":
            kind = item.get("kind") if isinstance(item, dict) else None
            return f"{where}: kind: unknown rule kind {kind!r} (known: {', '.join(RULE_KINDS)})"
        if err["type"] == "union_tag_not_found":
            return f"{where}: kind: missing (one of {', '.join(RULE_KINDS)})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}"
