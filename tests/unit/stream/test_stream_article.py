"""Whole-article scoring: sentence units, roll-up, entity targets, sanitising of bad mentions."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from finsent.core.records import ArticleRecord, EntityMention, MentionSpan
from finsent.models.entities import EntityScore
from finsent.models.inference import Score
from finsent.stream.article import plan_article, split_sentences
from finsent.stream.inference import ModelRunner
from finsent.stream.messages import InboundMessage, decode_batch
from finsent.stream.metrics import StreamMetrics
from finsent.stream.pipeline import ArticleOptions, ScoringPipeline, scored_record
from finsent.stream.rollup import rollup
from finsent.stream.sanitise import sanitise_entities
from finsent.stream.topics import Topics

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NEG, NEU, POS = [0.9, 0.08, 0.02], [0.05, 0.9, 0.05], [0.02, 0.08, 0.9]
OPTIONS = ArticleOptions(whole_article=True, max_sentences=24, max_entities=32, max_spans_per_entity=16)


def _probs(text: str) -> list[float]:
    low = text.lower()
    if any(w in low for w in ("plunge", "fraud", "collapse", "loss")):
        return NEG
    if any(w in low for w in ("soar", "record", "surge")):
        return POS
    return NEU


def _score(probs: list[float], version: str = "v1", entities: tuple[Any, ...] = ()) -> Score:
    s_idx = max(range(3), key=probs.__getitem__)
    label = ("negative", "neutral", "positive")[s_idx]
    score = Score(3, "Earnings", [0.05] * 20, label, probs, probs[2] - probs[0], probs[s_idx], version)
    return dataclasses.replace(score, entities=entities) if entities else score


class WordModel:
    """Sentiment from trigger words; with ``head``, each target's from the 4 words after its span."""

    version = "v1"

    def __init__(self, head: bool = False) -> None:
        self.has_entity_head = head
        self.texts: list[str] = []

    def predict(self, texts: Sequence[str], targets: Sequence[Sequence[Any]] | None = None) -> list[Score]:
        self.texts.extend(texts)
        out = []
        for i, text in enumerate(texts):
            ents = ()
            if targets is not None:
                ents = tuple(EntityScore(t.key, *_entity(text, t.spans)) for t in targets[i])
            out.append(_score(_probs(text), entities=ents))
        return out


def _entity(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, list[float], float, float]:
    a, b = spans[0]
    assert 0 <= a < b <= len(text), (text, spans)
    p = _probs(" ".join(text[b:].split()[:4]))
    s_idx = max(range(3), key=p.__getitem__)
    return ("negative", "neutral", "positive")[s_idx], p, p[2] - p[0], p[s_idx]


def _record(
    title: str, body: str = "", entities: list[EntityMention] | None = None, rid: str = "a1"
) -> ArticleRecord:
    return ArticleRecord(
        id=rid,
        source_id="t",
        title=title,
        body=body,
        published_at=T0,
        fetched_at=T0,
        entities=entities or [],
        content_hash=rid,
    )


def _mention(ticker: str, record_title: str, surface: str, **kw: Any) -> EntityMention:
    start = record_title.index(surface)
    span = MentionSpan(field="title", start=start, end=start + len(surface), text=surface)
    return EntityMention(
        ticker=ticker, name=kw.get("name", surface), relevance=kw.get("relevance", 0.9), spans=[span]
    )


class FakeSink:
    def __init__(self) -> None:
        self.items: list[Any] = []

    async def write(self, items: Sequence[Any], dead: Sequence[Any]) -> tuple[datetime, list[Any]]:
        self.items.extend(items)
        return datetime.now(UTC), []


class FakePublisher:
    def __init__(self) -> None:
        self.sent: dict[str, list[Any]] = {}

    async def publish(self, topic: str, messages: Sequence[Any]) -> None:
        self.sent.setdefault(topic, []).extend(messages)


def _run(
    records: list[ArticleRecord | bytes], model: WordModel, options: ArticleOptions = OPTIONS
) -> tuple[Any, Any, FakeSink, StreamMetrics]:
    metrics, sink, pub = StreamMetrics(), FakeSink(), FakePublisher()
    pipeline = ScoringPipeline(
        runner=ModelRunner(model),
        sink=sink,
        publisher=pub,
        topics=Topics("t"),
        metrics=metrics,
        options=options,  # type: ignore[arg-type]
    )
    messages = [
        InboundMessage("raw", 0, i, None, r if isinstance(r, bytes) else r.to_bytes())
        for i, r in enumerate(records)
    ]
    report = asyncio.run(pipeline.process(messages))
    return report, pub, sink, metrics


NEGATIVE_BODY = (
    "Acme Robotics said on Monday it would publish results for the quarter later this month, as it "
    "does every year at this time. The company makes industrial robots and warehouse systems and "
    "employs about 4,000 people in three countries, according to its annual report for last year. "
    "It is listed in New York.\n\n"
    "The company disclosed an accounting fraud at its largest unit. "
    "Auditors expect a loss of $2 billion. Analysts warned the shares could plunge further."
)


def test_blingfire_keeps_abbreviations_and_offsets_point_into_the_body() -> None:
    body = "Acme Inc. earned $4.2 billion in the U.S. market. Shares rose 3 p.m. trading.\n\nNext para é."
    spans = split_sentences(body)
    assert [body[a:b] for a, b in spans] == [
        "Acme Inc. earned $4.2 billion in the U.S. market.",
        "Shares rose 3 p.m. trading.",
        "Next para é.",
    ]
    assert split_sentences("   \n ") == []


def test_rollup_lets_clear_sentences_outweigh_neutral_filler_and_keeps_all_neutral_neutral() -> None:
    assert rollup([(None, NEU), (0, NEU), (1, NEU)])[1] > 0.85
    mixed = rollup([(None, NEU), (0, NEU), (1, NEG), (2, NEG), (3, NEU)])
    assert mixed[0] > mixed[1] and abs(sum(mixed) - 1) < 1e-9
    # the headline counts more than one sentence of the body
    assert rollup([(None, POS), (0, NEG)])[2] > rollup([(None, POS), (0, NEG)])[0]


def test_neutral_headline_with_negative_body_scores_negative_whole_and_neutral_headline_only() -> None:
    record = _record("Acme Robotics to publish quarterly results on Thursday", NEGATIVE_BODY)
    _, pub, sink, _ = _run([record], WordModel())
    (item,) = sink.items
    assert item.score.sentiment == "negative" and item.score.score < -0.3
    assert [s.index for s in item.sentences] == [0, 1, 2, 3, 4, 5]
    assert all(record.body[s.start : s.end] == s.text for s in item.sentences)
    assert [s.sentiment for s in item.sentences] == [*["neutral"] * 3, *["negative"] * 3]
    out = json.loads(pub.sent[Topics("t").scored_articles][0].value)
    assert out["sentences_scored"] == 6 and out["sentiment"] == "negative"
    headline_only = ArticleOptions(False, 24, 32, 16)
    _, _, sink2, _ = _run([record], WordModel(), headline_only)
    assert sink2.items[0].score.sentiment == "neutral" and sink2.items[0].sentences == []


def test_title_only_item_is_scored_exactly_as_before() -> None:
    model = WordModel()
    record = _record("Acme Robotics shares soar on record orders")
    _, _, sink, _ = _run([record], model)
    assert model.texts == ["Acme Robotics shares soar on record orders"]
    assert sink.items[0].score == _score(POS) and sink.items[0].sentences == []


def test_sentence_cap_keeps_the_lead() -> None:
    body = " ".join(f"Sentence number {i} is here." for i in range(40))
    plan = plan_article(_record("Title", body), [], whole_article=True, max_sentences=5)
    assert [u.index for u in plan.units] == [None, 0, 1, 2, 3, 4]
    assert plan.units[1].text == "Sentence number 0 is here." and plan.capped == 35


def test_entities_fall_back_to_the_document_score_without_an_entity_head() -> None:
    title = "Orchid Pharmaceuticals shares soar while Helix plunge"
    ents = [
        _mention("ORCH", title, "Orchid Pharmaceuticals"),
        _mention("HLXB", title, "Helix", relevance=0.5),
    ]
    _, _, sink, _ = _run([_record(title, "", ents)], WordModel(head=False))
    (item,) = sink.items
    assert {e.ticker: e.source for e in item.entities} == {"ORCH": "document", "HLXB": "document"}
    assert all(e.sentiment_probs == item.score.sentiment_probs for e in item.entities)
    assert all(e.in_title and e.mentions == 1 for e in item.entities)


def test_entity_head_gives_opposite_scores_to_two_companies_of_one_headline() -> None:
    title = "Orchid Pharmaceuticals shares soar while Helix stock plunge"
    ents = [
        _mention("ORCH", title, "Orchid Pharmaceuticals"),
        _mention("HLXB", title, "Helix", relevance=0.5),
    ]
    body = "Helix said the collapse of its trial hurt. Orchid Pharmaceuticals expects record sales."
    ents[0] = ents[0].model_copy(
        update={"spans": [*ents[0].spans, MentionSpan(field="body", start=43, end=65, text=body[43:65])]}
    )
    _, _, sink, _ = _run([_record(title, body, ents)], WordModel(head=True))
    by = {e.ticker: e for e in sink.items[0].entities}
    assert by["ORCH"].source == by["HLXB"].source == "entity"
    assert by["ORCH"].score > 0.5 and by["HLXB"].score < -0.5
    assert by["ORCH"].units == 2 and by["HLXB"].units == 1


def test_bad_spans_blank_names_and_500_mentions_are_sanitised_counted_and_the_article_scored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    title = "Acme Robotics beats estimates"
    bad = MentionSpan(field="title", start=10, end=999, text="x")
    many = [
        EntityMention(ticker=f"T{i:03d}", name=f"Co {i}", relevance=round(i / 1000, 3)) for i in range(500)
    ]
    ents = [EntityMention(ticker="ACMR", name="  ", relevance=1.0, spans=[bad] * 3), *many]
    record = _record(title, "", ents)
    clean, dropped = sanitise_entities(record, max_entities=32, max_spans=16)
    assert len(clean) == 32 and clean[0].ticker == "ACMR" and clean[0].name is None and clean[0].mentions == 0
    assert clean[1].ticker == "T499"
    assert dropped == {"empty_name": 1, "span_outside_text": 3, "entities_capped": 469}
    with caplog.at_level("WARNING"):
        report, _, sink, metrics = _run([record, _record("Second article", rid="a2")], WordModel())
    assert report.scored == 2 and report.dead_lettered == 0
    assert len(sink.items[0].entities) == 32
    sanitised_logs = [r for r in caplog.records if "sanitised" in r.getMessage()]
    assert len(sanitised_logs) == 1
    got = metrics.registry.get_sample_value("finsent_stream_sanitised_total", {"reason": "entities_capped"})
    assert got == 469


def test_500_spans_of_one_entity_are_capped_and_the_rest_still_scored() -> None:
    body = "Acme rose. " * 500
    spans = [MentionSpan(field="body", start=11 * i, end=11 * i + 4, text="Acme") for i in range(500)]
    record = _record(
        "Acme Robotics beats estimates", body, [EntityMention(ticker="ACMR", relevance=1.0, spans=spans)]
    )
    (clean,), dropped = sanitise_entities(record, max_entities=32, max_spans=16)
    assert clean.mentions == 16 and clean.body_spans[0] == (0, 4) and dropped == {"spans_capped": 484}
    report, _, sink, _ = _run([record], WordModel(head=True))
    assert report.scored == 1 and len(sink.items[0].sentences) == 24
    (entity,) = sink.items[0].entities
    assert entity.source == "entity" and entity.units == 16 and entity.mentions == 16


def test_a_record_whose_only_fault_is_an_entity_is_salvaged_not_dead_lettered() -> None:
    good = _record("Acme Robotics beats estimates").model_dump(mode="json")
    good["entities"] = [
        {"ticker": "", "name": "", "relevance": 0.5},
        {"ticker": "ACMR", "name": "Acme", "relevance": 2.0},
        {
            "ticker": "BLPK",
            "name": "Bluepeak",
            "relevance": 0.4,
            "spans": [{"field": "title", "start": 5, "end": 2, "text": ""}],
        },
    ]
    raw = json.dumps(good).encode()
    assert decode_batch([InboundMessage("raw", 0, 0, None, raw)])[1]  # strict decode: a dead letter
    report, _, sink, metrics = _run([raw], WordModel())
    assert report.scored == 1 and report.dead_lettered == 0
    assert [e.ticker for e in sink.items[0].entities] == ["BLPK"]
    for reason, n in {"blank_ticker": 1, "invalid_entity": 1, "invalid_span": 1}.items():
        assert metrics.registry.get_sample_value("finsent_stream_sanitised_total", {"reason": reason}) == n
    broken = {**good, "title": "   "}
    report, _, _, _ = _run([json.dumps(broken).encode()], WordModel())
    assert report.dead_lettered == 1  # not an entity fault: still a dead letter


def test_scored_record_carries_entity_scores() -> None:
    title = "Orchid Pharmaceuticals shares soar"
    _, _, sink, _ = _run(
        [_record(title, "", [_mention("ORCH", title, "Orchid Pharmaceuticals")])], WordModel()
    )
    rec = scored_record(sink.items[0], datetime.now(UTC))
    assert [(e.ticker, e.source, e.sentiment) for e in rec.entity_scores] == [
        ("ORCH", "document", "positive")
    ]
    assert rec.sentences_scored == 0
