"""Worker configuration from settings, JSON log lines, scored records."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from finsent.core.records import ArticleRecord, EntityMention, ScoredArticleRecord
from finsent.core.settings import Settings
from finsent.models.inference import Score
from finsent.stream.config import StreamConfig
from finsent.stream.logs import JsonFormatter, logging_config
from finsent.stream.messages import InboundMessage
from finsent.stream.pipeline import scored_record
from finsent.stream.sink import ScoredItem, article_row, score_row


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, data_dir=Path("/tmp/x"), **kw)  # type: ignore[call-arg]


def test_config_takes_settings_and_ignores_unset_overrides() -> None:
    s = _settings(
        kafka={"topic_prefix": "acme"},
        stream={"batch_size": 16, "batch_window": "100ms", "concurrency": 2},
        models={"device": "cpu"},
    )
    s = s.override(stream={"batch_size": None, "concurrency": 3})  # how CLI options apply
    cfg = StreamConfig.from_settings(
        s, database_url="postgresql+psycopg://u@h/db", kafka_bootstrap="h1:9092, h2:9093"
    )
    assert (cfg.batch_size, cfg.batch_window_s, cfg.concurrency, cfg.device) == (16, 0.1, 3, "cpu")
    assert cfg.group_id == "acme-scoring"
    assert cfg.topics.raw_articles == "acme.articles.raw"
    assert cfg.broker_urls == ["kafka://h1:9092", "kafka://h2:9093"]
    assert cfg.model_store == Path("/tmp/x/models")


def test_json_formatter_emits_extra_fields_and_exceptions() -> None:
    record = logging.LogRecord("finsent.stream.x", logging.WARNING, __file__, 1, "stored %d", (5,), None)
    record.partition = 3
    out = json.loads(JsonFormatter().format(record))
    assert out["msg"] == "stored 5"
    assert out["level"] == "WARNING"
    assert out["partition"] == 3
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert "ValueError: bad" in json.loads(JsonFormatter().format(record))["exc"]


@pytest.mark.parametrize("json_lines", [True, False])
def test_logging_config_is_accepted_by_dictconfig(json_lines: bool) -> None:
    import logging.config

    before = logging.getLogger().handlers[:]
    try:
        logging.config.dictConfig(logging_config("DEBUG", json_lines=json_lines))
        assert logging.getLogger("finsent").level == logging.DEBUG
    finally:
        logging.getLogger().handlers[:] = before


def test_rows_and_scored_record_carry_the_model_version_and_article_fields() -> None:
    t = datetime(2025, 1, 1, tzinfo=UTC)
    record = ArticleRecord(
        id="a1",
        source_id="s",
        title="T",
        published_at=t,
        fetched_at=t,
        content_hash="h",
        tickers=["AAPL"],
        entities=[EntityMention(ticker="AAPL", relevance=0.5)],
    )
    score = Score(2, "Earnings", [0.05] * 20, "positive", [0.1, 0.2, 0.7], 1.0000001, 0.7, "v9")
    item = ScoredItem(InboundMessage("raw", 0, 1, b"a1", b""), record, score)
    row = score_row(item, t)
    assert (row["article_id"], row["model_version"], row["published_at"]) == ("a1", "v9", t)
    assert article_row(record)["entities"] == [
        {"ticker": "AAPL", "name": None, "relevance": 0.5, "spans": []}
    ]
    out = ScoredArticleRecord.from_bytes(scored_record(item, t).to_bytes())
    assert (out.article_id, out.model_version, out.score, out.entities) == ("a1", "v9", 1.0, record.entities)
