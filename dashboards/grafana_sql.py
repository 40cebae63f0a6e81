"""SQL of the Grafana panels, and an expander of Grafana's PostgreSQL macros.

The queries read the same tables as the live page (per-minute aggregates, scores, alerts) plus
the pipeline's health (throughput from ``scores.scored_at``, scoring lag, the outbox backlog, dead
letters, webhook deliveries). :func:`expand_macros` turns a panel's SQL into what Grafana would
send to PostgreSQL, so tests (and ``finsent dashboards check``) can run every panel for real.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from finsent.core.durations import parse_duration
from finsent.dashboards.exceptions import PanelSqlError

__all__ = ["PanelSql", "expand_macros", "parse_interval"]

_MACRO = re.compile(r"\$__(\w+)(?:\(([^()]*)\))?")
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def parse_interval(raw: str) -> timedelta:
    """Grafana interval text (``'5m'``, ``30s``, ``1h``) as a timedelta.

    Grafana may quote the value; the rest is finsent's one duration syntax.

    Raises:
        PanelSqlError: not a positive duration.
    """
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise PanelSqlError(f"not a Grafana interval: {raw!r} ({exc})") from None
    if value <= timedelta(0):
        raise PanelSqlError(f"not a Grafana interval: {raw!r} (must be positive)")
    return value


def _ts(value: datetime) -> str:
    return "'" + value.isoformat().replace("+00:00", "Z") + "'"


def expand_macros(
    sql: str,
    *,
    start: datetime,
    end: datetime,
    interval: timedelta = timedelta(minutes=1),
    variables: Mapping[str, str] | None = None,
) -> str:
    """Expand Grafana's PostgreSQL macros and dashboard variables like Grafana does.

    Supported: ``$__timeFilter(col)``, ``$__timeFrom()``, ``$__timeTo()``, ``$__timeGroup(col, iv)``,
    ``$__timeGroupAlias(col, iv)``, ``$__unixEpochFilter(col)``, ``$__interval``,
    ``$__interval_ms``, and ``$name`` / ``${name}`` dashboard variables.

    Raises:
        PanelSqlError: an unknown macro or variable.
    """
    iv_s = interval.total_seconds()
    text = sql.replace("$__interval_ms", str(int(iv_s * 1000)))
    text = text.replace("$__interval", _interval_text(interval))

    def macro(match: re.Match[str]) -> str:
        name, args = match.group(1), [a.strip() for a in (match.group(2) or "").split(",")]
        if name == "timeFilter":
            return f"{args[0]} BETWEEN {_ts(start)} AND {_ts(end)}"
        if name == "timeFrom":
            return _ts(start)
        if name == "timeTo":
            return _ts(end)
        if name in ("timeGroup", "timeGroupAlias"):
            secs = parse_interval(args[1]).total_seconds() if len(args) > 1 else iv_s
            group = f"floor(extract(epoch from {args[0]})/{secs:g})*{secs:g}"
            return group + (' AS "time"' if name == "timeGroupAlias" else "")
        if name == "unixEpochFilter":
            return f"{args[0]} >= {int(start.timestamp())} AND {args[0]} <= {int(end.timestamp())}"
        raise PanelSqlError(f"unsupported Grafana macro $__{name}")

    text = _MACRO.sub(macro, text)
    values = dict(variables or {})

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise PanelSqlError(f"unknown dashboard variable ${name}")
        return values[name]

    return _VARIABLE.sub(variable, text)


def _interval_text(interval: timedelta) -> str:
    secs = int(interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


class PanelSql:
    """The panels' queries; topic names come from the models' label list (one source of truth)."""

    def __init__(self, topic_labels: Sequence[str]) -> None:
        pairs = ", ".join(f"({i}, '{_quote(label)}')" for i, label in enumerate(topic_labels))
        self.topic_names = f"(VALUES {pairs}) AS names(topic, label)"

    # --- sentiment views (same as the live page) ------------------------------------------------

    def sentiment_by_topic(self) -> str:
        """Mean signed score per topic and time bucket (long format: time, metric, value)."""
        return f"""SELECT $__timeGroupAlias(a.bucket, $__interval),
  coalesce(names.label, a.topic::text) AS metric,
  sum(a.sum_score) / nullif(sum(a.n), 0) AS value
FROM agg_topic a LEFT JOIN {self.topic_names} ON names.topic = a.topic
WHERE $__timeFilter(a.bucket) AND a.topic >= 0
GROUP BY 1, 2
ORDER BY 1, 2"""

    VOLUME = """SELECT $__timeGroupAlias(bucket, $__interval),
  sum(n_negative) AS negative, sum(n_neutral) AS neutral, sum(n_positive) AS positive
FROM agg_topic
WHERE $__timeFilter(bucket) AND topic = -1
GROUP BY 1
ORDER BY 1"""

    NEGATIVE_SHARE = """SELECT $__timeGroupAlias(bucket, $__interval),
  sum(n_negative)::float8 / nullif(sum(n), 0) AS "negative share"
FROM agg_topic
WHERE $__timeFilter(bucket) AND topic = -1
GROUP BY 1
ORDER BY 1"""

    OPEN_ALERTS = "SELECT count(*) AS \"open alerts\" FROM alerts WHERE status = 'open'"

    ALERTS_TABLE = """SELECT opened_at AS "time", status, severity, rule_id AS rule,
  scope_kind || ' ' || scope_value AS scope, round(value::numeric, 3) AS value,
  round(baseline::numeric, 3) AS baseline, resolved_at, acknowledged_by
FROM alerts
WHERE opened_at <= $__timeTo() AND (resolved_at IS NULL OR resolved_at >= $__timeFrom())
ORDER BY (status = 'open') DESC, opened_at DESC
LIMIT 200"""

    ALERT_ANNOTATIONS = """SELECT opened_at AS "time", coalesce(resolved_at, now()) AS "timeend",
  rule_id || ': ' || scope_kind || ' ' || scope_value || ' (' || severity || ', ' || status || ')'
    AS text,
  status AS tags
FROM alerts
WHERE opened_at <= $__timeTo() AND (resolved_at IS NULL OR resolved_at >= $__timeFrom())"""

    #: Entity-level sentiment of the busiest entities (by total relevance in the range): each
    #: article counts with its relevance to the entity, so a passing mention weighs less.
    ENTITY_SENTIMENT = """SELECT $__timeGroupAlias(e.bucket, $__interval), e.entity AS metric,
  sum(e.weighted_mean_score * e.weight_sum) / nullif(sum(e.weight_sum), 0) AS value
FROM agg_entity e
WHERE $__timeFilter(e.bucket) AND e.entity IN (
  SELECT entity FROM agg_entity WHERE $__timeFilter(bucket)
  GROUP BY entity ORDER BY sum(weight_sum) DESC, entity LIMIT 8)
GROUP BY 1, 2
ORDER BY 1, 2"""

    ENTITY_TABLE = """SELECT entity, sum(n) AS articles,
  round((sum(weighted_mean_score * weight_sum) / nullif(sum(weight_sum), 0))::numeric, 3)
    AS "weighted sentiment",
  round((sum(n_negative)::float8 / nullif(sum(n), 0))::numeric, 3) AS "negative share",
  round(sum(weight_sum)::numeric, 1) AS "total relevance"
FROM agg_entity
WHERE $__timeFilter(bucket)
GROUP BY entity
ORDER BY sum(weight_sum) DESC, entity
LIMIT 50"""

    TICKER_VOLUME = """SELECT $__timeGroupAlias(bucket, $__interval),
  sum(n) AS "$ticker articles", sum(weight_sum) AS "$ticker relevance-weighted"
FROM agg_entity
WHERE $__timeFilter(bucket) AND entity = upper('$ticker')
GROUP BY 1
ORDER BY 1"""

    TICKER_SENTIMENT = """SELECT $__timeGroupAlias(bucket, $__interval),
  sum(weighted_mean_score * weight_sum) / nullif(sum(weight_sum), 0) AS "$ticker sentiment"
FROM agg_entity
WHERE $__timeFilter(bucket) AND entity = upper('$ticker')
GROUP BY 1
ORDER BY 1"""

    #: The ticker's latest articles with its own (entity-level) score and relevance 0-100; where
    #: the scoring version wrote no entity row, the article's score and mention stand in.
    TICKER_ARTICLES = """SELECT a.published_at AS "time", a.title,
  coalesce(own.sentiment, cur.sentiment) AS "entity sentiment",
  round(coalesce(own.score, cur.score)::numeric, 2) AS "entity score",
  round(100 * coalesce(own.relevance, (SELECT (m->>'relevance')::float8
    FROM jsonb_array_elements(a.entities) m WHERE m->>'ticker' = upper('$ticker') LIMIT 1), 1.0))
    AS relevance,
  coalesce(own.source, 'document') AS "scored as",
  cur.sentiment AS "article sentiment", round(cur.confidence::numeric, 2) AS confidence,
  a.source_id AS source, a.url
FROM articles a
JOIN LATERAL (
  SELECT s.model_version, s.sentiment, s.score, s.confidence FROM scores s WHERE s.article_id = a.id
  ORDER BY s.scored_at DESC, s.model_version DESC LIMIT 1
) cur ON true
LEFT JOIN entity_scores own ON own.article_id = a.id AND own.entity = upper('$ticker')
  AND own.model_version = cur.model_version
WHERE a.tickers @> ARRAY[upper('$ticker')]::varchar[] AND $__timeFilter(a.published_at)
ORDER BY a.published_at DESC
LIMIT 50"""

    LATEST_HEADLINES = """SELECT a.published_at AS "time", a.title, cur.topic_label AS topic, cur.sentiment,
  round(cur.confidence::numeric, 2) AS confidence, a.source_id AS source, a.url
FROM articles a
JOIN LATERAL (
  SELECT s.topic_label, s.sentiment, s.confidence FROM scores s WHERE s.article_id = a.id
  ORDER BY s.scored_at DESC, s.model_version DESC LIMIT 1
) cur ON true
WHERE $__timeFilter(a.published_at)
ORDER BY a.published_at DESC
LIMIT 50"""

    # --- pipeline health -----------------------------------------------------------------------

    THROUGHPUT = """SELECT $__timeGroupAlias(scored_at, $__interval), count(*) AS "scored articles"
FROM scores
WHERE $__timeFilter(scored_at)
GROUP BY 1
ORDER BY 1"""

    INGEST_RATE = """SELECT $__timeGroupAlias(fetched_at, $__interval), count(*) AS "ingested articles"
FROM articles
WHERE $__timeFilter(fetched_at)
GROUP BY 1
ORDER BY 1"""

    SCORING_LAG = """SELECT $__timeGroupAlias(s.scored_at, $__interval),
  avg(extract(epoch FROM s.scored_at - a.fetched_at)) AS "mean fetch-to-score lag",
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM s.scored_at - a.fetched_at))
    AS "p95 fetch-to-score lag"
FROM scores s JOIN articles a ON a.id = s.article_id
WHERE $__timeFilter(s.scored_at)
GROUP BY 1
ORDER BY 1"""

    SINCE_LAST_SCORE = """SELECT extract(epoch FROM now() - max(scored_at)) AS "since last score"
FROM scores"""

    BACKLOG = """SELECT
  (SELECT count(*) FROM articles WHERE emitted_at IS NULL) AS "outbox (not yet on Kafka)",
  (SELECT count(*) FROM articles a WHERE a.emitted_at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.article_id = a.id)) AS "emitted, not scored"
"""

    DEAD_LETTERS = """SELECT $__timeGroupAlias(created_at, $__interval), stage AS metric, count(*) AS value
FROM dead_letters
WHERE $__timeFilter(created_at)
GROUP BY 1, 2
ORDER BY 1, 2"""

    DEAD_LETTER_TABLE = """SELECT created_at AS "time", stage, source, error_type, left(error, 200) AS error,
  "partition", "offset"
FROM dead_letters
WHERE $__timeFilter(created_at)
ORDER BY created_at DESC
LIMIT 100"""

    WEBHOOK_DELIVERIES = """SELECT $__timeGroupAlias(created_at, $__interval),
  status AS metric, count(*) AS value
FROM webhook_deliveries
WHERE $__timeFilter(created_at)
GROUP BY 1, 2
ORDER BY 1, 2"""

    PRODUCTION_MODEL = """SELECT version, promoted_at AS "time", metrics::text AS metrics
FROM model_versions
WHERE status = 'production'"""


def _quote(text: str) -> str:
    return text.replace("'", "''")
