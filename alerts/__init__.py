"""Alerts stage: anomaly rules over the per-minute aggregates, alert lifecycle, signed webhooks.

* :mod:`alerts.rules` -- YAML rule models (`load_rules`, `parse_rules`, `RuleSet`);
* :mod:`alerts.detectors` -- one pure detector per rule kind;
* :mod:`alerts.lifecycle` -- one alert per (rule, scope) episode, cooldown, resolution;
* :mod:`alerts.engine` -- `AlertEngine.advance(watermark)` (the per-window hook) and `catch_up`;
* :mod:`alerts.store` -- PostgreSQL reader/store; :mod:`alerts.memory` -- in-memory ones;
* :mod:`alerts.webhooks` / :mod:`alerts.signing` -- which subscriptions get which body
  (`enqueue_notifications`), the delivery worker, `verify_signature`;
* :mod:`alerts.publisher` -- events to the alerts topic; every outward shape of an alert is a
  view of :class:`finsent.core.alerts.AlertPayload`;
* :mod:`alerts.service` -- `AlertService`, `build_engine` (engine + delivery, `finsent alerts run`);
* :mod:`alerts.quality` -- false alerts/day and detection delay on simulated streams.
"""

from finsent.alerts.detectors import Counts, Detection
from finsent.alerts.engine import AlertEngine, AlertEvent
from finsent.alerts.exceptions import AlertsError, RuleFileError
from finsent.alerts.rules import Rule, RuleSet, load_rules, parse_rules
from finsent.alerts.signing import sign, verify_signature

__all__ = [
    "AlertEngine",
    "AlertEvent",
    "AlertsError",
    "Counts",
    "Detection",
    "Rule",
    "RuleFileError",
    "RuleSet",
    "load_rules",
    "parse_rules",
    "sign",
    "verify_signature",
]
