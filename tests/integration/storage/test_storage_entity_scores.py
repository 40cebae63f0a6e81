"""Entity and sentence scores through the real sink and PostgreSQL: stored once, folded into
relevance-weighted aggregates exactly as a recount counts them, re-scored by a new version."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from finsent.core.records import EntityMention
from finsent.models.inference import Score
from finsent.storage.aggregates import aggregate_mismatches, rebuild_all
from finsent.storage.entity_scores_repo import article_entity_scores
from finsent.storage.scores_repo import ScoreWriter
from finsent.storage.sentence_scores_repo import article_sentence_scores
from finsent.stream.messages import InboundMessage
from finsent.stream.results import EntityResult, SentenceResult
from finsent.stream.sink import ScoredItem, ScoreSink, article_row, entity_rows, score_row, sentence_rows
from tests.support.stream_harness import make_articles

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
_PROBS = {"negative": [0.8, 0.15, 0.05], "neutral": [0.1, 0.8, 0.1], "positive": [0.05, 0.15, 0.8]}


def _entity(
    ticker: str, sentiment: str, score: float, relevance: float, source: str = "entity"
) -> EntityResult:
    return EntityResult(
        ticker,
        ticker.title(),
        relevance,
        sentiment,
        _PROBS[sentiment],
        score,
        0.8,
        source,  # type: ignore[arg-type]
        in_title=relevance > 0.5,
        mentions=2,
    )


def _item(
    i: int,
    entities: list[EntityResult],
    *,
    version: str = "v1",
    doc: str = "neutral",
    sentences: list[SentenceResult] | None = None,
    prefix: str = "e",
) -> ScoredItem:
    record = make_articles(1, prefix=f"{prefix}{i}-", published_at=T0 + timedelta(seconds=7 * i), spread_s=1)[
        0
    ]
    mentions = [EntityMention(ticker=e.ticker, relevance=e.relevance) for e in entities]
    record = record.model_copy(update={"entities": mentions, "tickers": [e.ticker for e in entities]})
    score = Score(
        1,
        "t1",
        [0.05] * 20,
        doc,
        _PROBS[doc],
        {"negative": -0.5, "neutral": 0.0, "positive": 0.5}[doc],
        0.7,
        version,
    )
    message = InboundMessage("raw", 0, i, record.id.encode(), record.to_bytes())
    return ScoredItem(message, record, score, entities=entities, sentences=sentences or [])


def _agg(engine: Engine) -> dict[str, dict[str, float]]:
    with engine.connect() as conn:
        return {r.entity: dict(r._mapping) for r in conn.execute(text("SELECT * FROM agg_entity"))}


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_two_companies_with_opposite_news_get_their_own_scores_and_weights(db_engine: Engine) -> None:
    # "Chipmaker AAA jumps as rival BBB cuts its forecast": BBB only in passing.
    item = _item(0, [_entity("AAA", "positive", 0.75, 0.9), _entity("BBB", "negative", -0.7, 0.2)])
    sink = ScoreSink(db_engine)
    asyncio.run(sink.write([item], []))
    agg = _agg(db_engine)
    assert (agg["AAA"]["n_positive"], agg["AAA"]["n_negative"]) == (1, 0)
    assert (agg["BBB"]["n_positive"], agg["BBB"]["n_negative"]) == (0, 1)
    assert agg["BBB"]["w_negative"] == pytest.approx(0.2)
    assert agg["AAA"]["w_positive"] == pytest.approx(0.9)
    assert agg["BBB"]["weighted_mean_score"] == pytest.approx(-0.7)
    with db_engine.connect() as conn:
        stored = article_entity_scores(conn, item.record.id)
        assert aggregate_mismatches(conn) == []
    assert [(e["entity"], e["sentiment"], e["relevance_pct"], e["source"]) for e in stored] == [
        ("AAA", "positive", 90, "entity"),
        ("BBB", "negative", 20, "entity"),
    ]
    sink.close()


def test_document_rows_and_uncovered_tickers_count_with_the_document_score(db_engine: Engine) -> None:
    item = _item(1, [_entity("AAA", "positive", 0.75, 0.6, source="document")], doc="negative")
    record = item.record.model_copy(update={"tickers": ["AAA", "CCC"]})  # CCC declared, never scored
    item = ScoredItem(item.message, record, item.score, entities=item.entities)
    rows = {r["entity"]: r for r in entity_rows(item, datetime.now(UTC))}
    assert rows["CCC"]["source"] == "document" and rows["CCC"]["relevance"] == 1.0
    sink = ScoreSink(db_engine)
    asyncio.run(sink.write([item], []))
    agg = _agg(db_engine)
    assert agg["AAA"]["n_negative"] == 1 and agg["AAA"]["sum_score"] == pytest.approx(-0.5)  # the doc score
    assert agg["CCC"]["n_negative"] == 1 and agg["CCC"]["weight_sum"] == pytest.approx(1.0)
    sink.close()


def test_a_redelivered_batch_writes_nothing_twice(db_engine: Engine) -> None:
    sentences = [
        SentenceResult(
            k, 10 * k, 10 * k + 9, f'tab\there {k}\\ "q"\n', "negative", _PROBS["negative"], -0.75, 0.8
        )
        for k in range(3)
    ]
    items = [_item(i, [_entity("AAA", "negative", -0.6, 0.5)], sentences=sentences) for i in range(12)]
    sink = ScoreSink(db_engine)
    asyncio.run(sink.write(items, []))
    with db_engine.connect() as conn:
        before = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM agg_entity")))
    asyncio.run(sink.write(items[3:9], []))  # replayed after a crash
    asyncio.run(sink.write(items, []))
    assert _count(db_engine, "SELECT count(*) FROM entity_scores") == 12
    assert _count(db_engine, "SELECT count(*) FROM sentence_scores") == 36
    with db_engine.connect() as conn:
        after = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM agg_entity")))
        got = article_sentence_scores(conn, items[0].record.id)
        assert aggregate_mismatches(conn) == []
    assert [b[:10] for b in before] == [a[:10] for a in after]
    assert [s["text"] for s in got] == [s.text for s in sentences]  # tabs, backslashes, quotes intact
    assert got[1]["char_start"] == 10 and got[1]["sentiment_probs"] == pytest.approx(_PROBS["negative"])
    sink.close()


def test_rescoring_with_a_new_version_replaces_the_entity_counts(db_engine: Engine) -> None:
    sink = ScoreSink(db_engine)
    v1 = [
        _item(i, [_entity("AAA", "negative", -0.6, 0.8), _entity("BBB", "neutral", 0.0, 0.3)])
        for i in range(6)
    ]
    asyncio.run(sink.write(v1, []))
    v2 = [_item(i, [_entity("AAA", "positive", 0.6, 0.8)], version="v2") for i in range(4)]
    asyncio.run(sink.write(v2, []))
    agg = _agg(db_engine)
    assert agg["AAA"]["n"] == 6 and agg["AAA"]["n_positive"] == 4 and agg["AAA"]["n_negative"] == 2
    assert agg["BBB"]["n"] == 2  # v2 no longer names BBB in the re-scored articles
    assert _count(db_engine, "SELECT count(*) FROM entity_scores WHERE model_version = 'v1'") == 12
    with db_engine.connect() as conn:
        assert [e["model_version"] for e in article_entity_scores(conn, v1[0].record.id)] == ["v2"]
        assert [e["model_version"] for e in article_entity_scores(conn, v1[0].record.id, "v1")] == [
            "v1",
            "v1",
        ]
        assert aggregate_mismatches(conn) == []
    sink.close()


def test_fold_gives_the_rows_a_recount_gives(db_engine: Engine) -> None:
    sink = ScoreSink(db_engine)
    for b in range(4):
        batch = [
            _item(
                10 * b + i,
                [
                    _entity("AAA", ("negative", "positive")[i % 2], 0.3 * (i % 3) - 0.3, 0.1 * i),
                    _entity(f"B{i % 3}", "neutral", 0.05, 0.5),
                ],
                version=f"v{b % 2}",
            )
            for i in range(10)
        ]
        asyncio.run(sink.write(batch, []))
    with db_engine.connect() as conn:
        folded = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM agg_entity")))
        topics = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM agg_topic")))
    with db_engine.begin() as conn:
        rebuild_all(conn)
    with db_engine.connect() as conn:
        recounted = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM agg_entity")))
        recounted_topics = sorted(tuple(r) for r in conn.execute(text("SELECT * FROM agg_topic")))
    for got, want in ((folded, recounted), (topics, recounted_topics)):
        assert [r[:2] for r in got] == [r[:2] for r in want]
        for g, w in zip(got, want, strict=True):
            assert g[2:] == pytest.approx(w[2:])
    sink.close()


def test_concurrent_folds_of_the_same_minutes_count_every_entity_once(db_engine: Engine) -> None:
    batches = [
        [
            _item(100 * w + 10 * b + i, [_entity("AAA", "negative", -0.5, 0.5)], prefix=f"w{w}-")
            for i in range(10)
        ]
        for w in range(2)
        for b in range(5)
    ]
    writer, errors = ScoreWriter(db_engine, stage="stream"), []

    def run(mine: list[list[ScoredItem]]) -> None:
        try:
            for batch in mine:
                now = datetime.now(UTC)
                writer.write(
                    articles=[article_row(i.record) for i in batch],
                    scores=[score_row(i, now) for i in batch],
                    entity_scores=[r for i in batch for r in entity_rows(i, now)],
                    sentence_scores=[r for i in batch for r in sentence_rows(i)],
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(batches[w::2],)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert _count(db_engine, "SELECT sum(n) FROM agg_entity WHERE entity = 'AAA'") == 100
    with db_engine.connect() as conn:
        assert aggregate_mismatches(conn) == []


def test_a_sentence_row_postgres_refuses_dead_letters_only_its_article(db_engine: Engine) -> None:
    good = SentenceResult(0, 0, 5, "Fine.", "neutral", _PROBS["neutral"], 0.0, 0.8)
    bad = SentenceResult(0, -3, 5, "Broken span.", "neutral", _PROBS["neutral"], 0.0, 0.8)
    items = [
        _item(i, [_entity("AAA", "neutral", 0.0, 0.5)], sentences=[bad if i == 2 else good]) for i in range(5)
    ]
    sink = ScoreSink(db_engine)
    _, rejected = asyncio.run(sink.write(items, []))
    assert [d.message.offset for d in rejected] == [2]
    assert _count(db_engine, "SELECT count(*) FROM scores") == 4
    assert _count(db_engine, "SELECT count(*) FROM sentence_scores") == 4
    assert _count(db_engine, "SELECT sum(n) FROM agg_entity") == 4
    with db_engine.connect() as conn:
        assert aggregate_mismatches(conn) == []
    sink.close()


def test_window_articles_list_an_entity_scope_with_its_own_scores(db_engine: Engine) -> None:
    from finsent.storage.window_queries import WINDOW_ORDERS, window_articles

    sink = ScoreSink(db_engine)
    subject = [_item(i, [_entity("AAA", "negative", -0.8, 0.9)], doc="positive") for i in range(3)]
    passing = [
        _item(i, [_entity("ZZZ", "positive", 0.6, 0.9), _entity("AAA", "neutral", 0.0, 0.1)]) for i in (3, 4)
    ]
    asyncio.run(sink.write([*subject, *passing], []))
    legacy = _item(5, [_entity("AAA", "negative", -0.8, 0.4)], prefix="legacy")  # written with no entity rows
    ScoreWriter(db_engine, stage="stream").write(
        articles=[article_row(legacy.record)], scores=[score_row(legacy, datetime.now(UTC))]
    )
    end = T0 + timedelta(minutes=5)
    with db_engine.connect() as conn:
        rows = window_articles(conn, "entity", "AAA", T0, end, order="negative")
        topic = window_articles(conn, "topic", "1", T0, end, limit=2)
        none = window_articles(conn, "entity", "AAA", end, end + timedelta(minutes=1))
        with pytest.raises(ValueError, match="order"):
            window_articles(conn, "entity", "AAA", T0, end, order="sideways")
        # Every order runs, for both kinds of scope (the alerts engine uses "extreme").
        ordered = {o: window_articles(conn, "entity", "AAA", T0, end, order=o) for o in WINDOW_ORDERS}
        topic_ordered = {o: window_articles(conn, "topic", "1", T0, end, order=o) for o in WINDOW_ORDERS}
    assert len(rows) == 6
    assert [r["entity"]["score"] for r in rows[:3]] == [-0.8] * 3
    assert {r["entity"]["relevance_pct"] for r in rows[:3]} == {90}
    assert all(r["score"] == 0.5 for r in rows[:3])  # the document score stays the document's
    by_id = {r["id"]: r["entity"] for r in rows}
    assert by_id[passing[0].record.id]["relevance_pct"] == 10
    assert by_id[legacy.record.id] == {
        "entity": "AAA",
        "source": "document",
        "relevance": 0.4,
        "relevance_pct": 40,
        "sentiment": "neutral",
        "score": 0.0,
        "confidence": 0.7,
        "in_title": False,
    }
    assert len(topic) == 2 and "entity" not in topic[0]
    assert [abs(r["entity"]["score"]) for r in ordered["extreme"]][:3] == [0.8] * 3
    assert [r["entity"]["relevance_pct"] for r in ordered["relevance"]][:3] == [90] * 3
    assert all(len(rows_) == 6 for rows_ in ordered.values()) and all(topic_ordered.values())
    assert none == []
    sink.close()
