"""Pure detectors, one per rule kind: aggregates of a window (+ baseline) in, a detection out.

No I/O here, so each kind is tested table-driven on constructed aggregates and the quality
simulation runs the very same code as the service.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from finsent.alerts.rules import NegativeSurgeRule, SentimentShiftRule, ThresholdRule, VolumeSpikeRule

__all__ = [
    "Counts",
    "Detection",
    "binomial_sf",
    "detect_negative_surge",
    "detect_sentiment_shift",
    "detect_threshold",
    "detect_volume_spike",
    "ewma_stats",
]


@dataclass(frozen=True)
class Counts:
    """Sums of per-minute aggregate buckets over some span of time.

    Counts may be fractional: entity scopes read relevance-weighted sums (an article counts as its
    relevance to the entity, 0..1), so a passing mention weighs less than the headline subject.
    Treating the weight sum as the binomial ``n`` is conservative: it is at most the Kish
    effective sample size ``(sum w)^2 / sum w^2`` for weights <= 1.
    """

    n: float = 0
    n_negative: float = 0
    n_neutral: float = 0
    n_positive: float = 0
    sum_score: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.n + other.n,
            self.n_negative + other.n_negative,
            self.n_neutral + other.n_neutral,
            self.n_positive + other.n_positive,
            self.sum_score + other.sum_score,
        )

    @property
    def negative_share(self) -> float:
        """Share of negative articles (0 for an empty span)."""
        return self.n_negative / self.n if self.n else 0.0

    @property
    def positive_share(self) -> float:
        """Share of positive articles (0 for an empty span)."""
        return self.n_positive / self.n if self.n else 0.0

    @property
    def mean_score(self) -> float:
        """Mean signed score P(pos) - P(neg) (0 for an empty span)."""
        return self.sum_score / self.n if self.n else 0.0


@dataclass(frozen=True)
class Detection:
    """What a detector saw in one window of one scope."""

    fired: bool
    value: float
    baseline: float | None = None
    statistic: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def binomial_sf(k: float, n: float, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), via the regularised incomplete beta.

    Exact for integers; ``k`` and ``n`` may be fractional (effective counts after dividing by a
    dispersion factor), where it is the beta function's continuous extension.
    """
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    from scipy.special import betainc  # lazy: keeps `import alerts` light for the CLI

    return float(betainc(k, n - k + 1, p))


def detect_negative_surge(rule: NegativeSurgeRule, window: Counts, baseline: Counts) -> Detection:
    """One-sided binomial test of the window's negative share against the baseline share.

    The baseline share is smoothed towards ``prior_share`` with ``prior_weight`` pseudo-articles
    so a scope with little history does not get a baseline of 0. News arrives in clusters (one
    story, several outlets), so counts are divided by ``dispersion`` (a variance inflation)
    before the test. Fires when the window has at least ``min_count`` articles, the share is
    ``min_delta`` above baseline and the p-value is at most ``max_p_value``. The statistic
    stored is the (dispersion-adjusted) z-score.
    """
    p0 = (baseline.n_negative + rule.prior_share * rule.prior_weight) / (baseline.n + rule.prior_weight)
    p0 = min(max(p0, 1e-6), 1 - 1e-6)
    n, k = window.n, window.n_negative
    share = window.negative_share
    phi = rule.dispersion
    z = (k - n * p0) / math.sqrt(phi * n * p0 * (1 - p0)) if n else 0.0
    p_value = binomial_sf(k / phi, n / phi, p0)
    fired = n >= rule.min_count and share - p0 >= rule.min_delta and p_value <= rule.max_p_value
    details = {"n": n, "n_negative": k, "p_value": p_value, "baseline_n": baseline.n}
    return Detection(fired, share, p0, z, details)


def ewma_stats(history: Sequence[float], alpha_decay: float) -> tuple[float, float]:
    """EWMA mean and variance of ``history`` (oldest first), weights ``alpha_decay ** age``."""
    if not len(history):
        return 0.0, 0.0
    values = np.asarray(history, dtype=float)
    weights = alpha_decay ** np.arange(len(values) - 1, -1, -1, dtype=float)
    mean = float(np.dot(weights, values) / weights.sum())
    var = float(np.dot(weights, (values - mean) ** 2) / weights.sum())
    return mean, var


def detect_volume_spike(rule: VolumeSpikeRule, window: Counts, history: Sequence[float]) -> Detection:
    """Window count vs the EWMA of the previous windows' counts (zeros included, oldest first).

    The spread is the EWMA standard deviation, floored at the Poisson one (sqrt of the mean) and
    at 1, so a scope that is usually silent needs ``min_count`` articles to fire.
    """
    decay = 0.5 ** (rule.window / rule.halflife)
    mean, var = ewma_stats(history, decay)
    sd = max(math.sqrt(max(var, mean)), 1.0)
    z = (window.n - mean) / sd
    # 1e-9: float sums of a flat history must not move a boundary case
    fired = window.n >= rule.min_count and z >= rule.z - 1e-9 and window.n >= rule.min_ratio * mean - 1e-9
    details = {"n": window.n, "ewma_sd": sd, "history_windows": len(history)}
    return Detection(fired, float(window.n), mean, z, details)


def detect_sentiment_shift(rule: SentimentShiftRule, window: Counts, history: Sequence[Counts]) -> Detection:
    """Window mean score vs mean and std of previous windows' means (windows with >= min_count)."""
    means = [c.mean_score for c in history if c.n >= rule.min_count]
    value = window.mean_score
    if len(means) < 2:
        return Detection(False, value, None, None, {"n": window.n, "baseline_windows": len(means)})
    mu = sum(means) / len(means)
    sd = max(math.sqrt(sum((m - mu) ** 2 for m in means) / (len(means) - 1)), rule.min_std, 1e-9)
    z = (value - mu) / sd
    moved = {"down": -z, "up": z, "both": abs(z)}[rule.direction]
    fired = window.n >= rule.min_count and len(means) >= rule.min_baseline_windows and moved > rule.k
    details = {"n": window.n, "baseline_sd": sd, "baseline_windows": len(means)}
    return Detection(fired, value, mu, z, details)


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def detect_threshold(rule: ThresholdRule, window: Counts) -> Detection:
    """Plain bound on one aggregate of the window; never fires below ``min_count`` articles.

    Shares and means of an empty window are undefined, so those metrics never fire on it.
    """
    value = float(window.n if rule.metric == "count" else getattr(window, rule.metric))
    defined = window.n > 0 or rule.metric.startswith("n") or rule.metric == "count"
    fired = defined and window.n >= rule.min_count and _OPS[rule.op](value, rule.value)
    return Detection(fired, value, rule.value, None, {"n": window.n, "metric": rule.metric, "op": rule.op})
