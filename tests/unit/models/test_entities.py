"""Entity-targeted sentiment: span mapping, the predict contract, training and evaluating the head."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finsent.models.entities import EntityTarget
from finsent.models.exceptions import EntitySpanError
from finsent.models.spans import normalize_with_offsets, raw_to_norm, token_mask
from finsent.models.text import normalize_text

TRICKY = [
    "  Apple &amp; Co.\tjumps  https://t.co/abc  as Samsung   slumps ",
    "&lt;b&gt;Tesla&lt;/b&gt; &#39;cuts&#x27; &ampprices",
    "www.example.com Nokia",
    "\u00a0\u2003BP\u00a0rallies\n\n",
    "",
    "   ",
    "plain",
]


@pytest.mark.parametrize("text", TRICKY)
def test_offsets_normalise_exactly_as_the_model_sees_text(text: str) -> None:
    norm, src = normalize_with_offsets(text)
    assert norm == normalize_text(text)
    assert len(src) == len(norm) + 1
    assert src == sorted(src)


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        ("  Apple &amp; Co.\tjumps  https://t.co/abc  as Samsung   slumps ", "Samsung"),
        ("&lt;b&gt;Tesla&lt;/b&gt; rallies", "Tesla"),
        ("\u00a0\u2003BP\u00a0rallies", "BP"),
    ],
)
def test_raw_spans_map_onto_the_normalised_text(text: str, surface: str) -> None:
    norm, src = normalize_with_offsets(text)
    start = text.index(surface)
    a, b = raw_to_norm(src, start, start + len(surface))
    assert norm[a:b] == surface


def test_a_span_inside_a_removed_link_maps_to_nothing() -> None:
    text = "see https://t.co/abc now"
    _, src = normalize_with_offsets(text)
    a, b = raw_to_norm(src, 10, 13)
    assert a == b


def test_token_mask_skips_special_tokens() -> None:
    offsets = [(0, 0), (0, 5), (6, 11), (12, 14), (0, 0)]
    assert token_mask(offsets, [(6, 11)]) == [2]
    assert token_mask(offsets, [(0, 3), (12, 13)]) == [1, 3]
    assert token_mask(offsets, [(20, 25)]) == []


def test_version_without_entity_head_returns_no_entities(classifier: Any) -> None:
    texts = ["Apple jumps as Samsung slumps", "Fed holds rates"]
    plain = classifier.predict(texts)
    targeted = classifier.predict(texts, [[EntityTarget("AAPL", ((0, 5),))], []])
    assert not classifier.has_entity_head
    assert [s.entities for s in targeted] == [(), ()]
    assert [s.sentiment_probs for s in targeted] == [s.sentiment_probs for s in plain]


@pytest.mark.parametrize("span", [(0, 99), (-1, 3), (4, 4), (5, 2)])
def test_bad_spans_raise_entity_span_error(classifier: Any, span: tuple[int, int]) -> None:
    with pytest.raises(EntitySpanError, match="span"):
        classifier.predict(["Apple jumps", "ok"], [[EntityTarget("AAPL", (span,))], []])


def test_entity_span_error_is_bad_data_and_target_count_is_checked(classifier: Any) -> None:
    from finsent.core.errors import BadDataError

    assert issubclass(EntitySpanError, BadDataError)
    with pytest.raises(ValueError, match="target lists"):
        classifier.predict(["a", "b"], [[]])


ENTITY_ROWS = [
    ("Alpha soars after record profit while Beta plunges on a profit warning", "Alpha", "Beta"),
    ("Beta rallies on strong demand as Alpha slumps after weak guidance", "Beta", "Alpha"),
    ("Gamma jumps to a record high while Delta sinks to a multi-year low", "Gamma", "Delta"),
    ("Delta surges after upgrade as Gamma tumbles on the downgrade", "Delta", "Gamma"),
]


def _entity_file(path: Path) -> Path:
    lines = []
    for text, up, down in ENTITY_ROWS:
        ents = [
            {"start": text.index(up), "end": text.index(up) + len(up), "text": up, "sentiment": "positive"},
            {
                "start": text.index(down),
                "end": text.index(down) + len(down),
                "text": down,
                "sentiment": "negative",
            },
        ]
        lines.append(json.dumps({"text": text, "entities": ents}))
    lines.append(
        json.dumps(
            {
                "text": "Omega holds its meeting",
                "entities": [{"start": 0, "end": 5, "text": "Omega", "sentiment": "neutral"}],
            }
        )
    )
    lines.append(
        json.dumps(
            {"text": "bad span", "entities": [{"start": 4, "end": 40, "text": "x", "sentiment": "neutral"}]}
        )
    )
    lines.append("not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_entity_file_reader_reports_bad_rows(tmp_path: Path) -> None:
    from finsent.models.entity_data import read_entity_jsonl, with_document_labels

    data = read_entity_jsonl(_entity_file(tmp_path / "e.jsonl"))
    assert len(data.examples) == 5 and data.n_entities == 9
    assert [b.line for b in data.bad_rows] == [6, 7]
    assert "outside the text" in data.bad_rows[0].reason
    labeled = with_document_labels(data.examples)
    assert [e.sentiment for e in labeled] == [None, None, None, None, 1]


@pytest.fixture(scope="module")
def entity_version(tiny_version: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny version with an entity head trained on top, encoder and document heads frozen."""
    from finsent.models.entity_data import read_entity_jsonl
    from finsent.models.training import TrainConfig, train

    data = read_entity_jsonl(_entity_file(tmp_path_factory.mktemp("ent") / "e.jsonl"))
    config = TrainConfig(
        init_from=str(tiny_version),
        freeze_encoder=True,
        epochs=60,
        batch_size=4,
        head_lr=1e-2,
        dev_fraction=0.0,
        patience=100,
        adapter_dtype="float32",
        seed=3,
    )
    out = tmp_path_factory.mktemp("ent") / "v-ent"
    return Path(train(data.examples, out, config, version="v-ent", progress=False).path)


def test_frozen_training_adds_an_entity_head_and_keeps_document_scores(
    entity_version: Path, classifier: Any
) -> None:
    from finsent.models import Classifier

    clf = Classifier.load(entity_version, device="cpu", cpu_backend="fp32", max_length=32, batch_size=4)
    assert clf.has_entity_head
    texts = [row[0] for row in ENTITY_ROWS]
    targets = [
        [
            EntityTarget(up, ((t.index(up), t.index(up) + len(up)),)),
            EntityTarget(dn, ((t.index(dn), t.index(dn) + len(dn)),)),
        ]
        for t, up, dn in ENTITY_ROWS
    ]
    scores = clf.predict(texts, targets)
    before = classifier.predict(texts)
    for s, b in zip(scores, before, strict=True):
        assert s.sentiment_probs == pytest.approx(b.sentiment_probs, abs=1e-6)
        assert s.topic_probs == pytest.approx(b.topic_probs, abs=1e-6)
        up, down = s.entities
        assert up.score > down.score  # the head learned which company fares well
        assert up.from_mentions and down.from_mentions
        assert sum(up.sentiment_probs) == pytest.approx(1.0, abs=1e-5)


def test_truncated_mention_still_gets_a_score(entity_version: Path) -> None:
    from finsent.models import Classifier

    clf = Classifier.load(entity_version, device="cpu", cpu_backend="fp32", max_length=8, batch_size=4)
    text = "Alpha soars " + "and more words " * 10 + "while Beta plunges"
    (score,) = clf.predict(
        [text], [[EntityTarget("B", ((text.index("Beta"), len(text) - 8),)), EntityTarget("A", ())]]
    )
    assert [e.key for e in score.entities] == ["B", "A"]
    assert not score.entities[0].from_mentions and not score.entities[1].from_mentions


def test_entity_head_runs_on_onnx_int8(entity_version: Path, tmp_path: Path) -> None:
    from finsent.models import Classifier

    fp32 = Classifier.load(entity_version, device="cpu", cpu_backend="fp32", max_length=32)
    onnx = Classifier.load(
        entity_version, device="cpu", cpu_backend="onnx-int8", max_length=32, cache_dir=tmp_path
    )
    text = ENTITY_ROWS[0][0]
    targets = [
        [EntityTarget("A", ((0, 5),)), EntityTarget("B", ((text.index("Beta"), text.index("Beta") + 4),))]
    ]
    a, b = fp32.predict([text], targets)[0], onnx.predict([text], targets)[0]
    assert onnx.has_entity_head
    for ea, eb in zip(a.entities, b.entities, strict=True):
        assert eb.sentiment_probs == pytest.approx(ea.sentiment_probs, abs=0.1)


def test_eval_task_entity_reports_subsets(entity_version: Path, tmp_path: Path) -> None:
    from finsent.models import Classifier
    from finsent.models.entity_data import read_entity_jsonl
    from finsent.models.entity_eval import evaluate_entities

    clf = Classifier.load(entity_version, device="cpu", cpu_backend="fp32", max_length=32)
    data = read_entity_jsonl(_entity_file(tmp_path / "e.jsonl"))
    report = evaluate_entities(clf, data, tmp_path / "out")
    assert report.source == "entity" and report.n == 9
    assert report.subsets["multi_entity"]["n"] == 8 and report.subsets["disagreeing"]["n"] == 8
    assert report.subsets["all"]["accuracy"] == report.accuracy
    saved = json.loads((tmp_path / "out" / "entity_report.json").read_text())
    assert saved["subsets"]["disagreeing"]["accuracy"] == report.subsets["disagreeing"]["accuracy"]
    assert (tmp_path / "out" / "entity_confusion_matrix.png").is_file()


def test_gate_records_entity_rows_with_subsets_but_gates_only_document_tasks(
    entity_version: Path, tmp_path: Path
) -> None:
    import shutil

    from finsent.models.autoselect import gate_table
    from finsent.models.gate import record_gate
    from finsent.models.network import read_manifest
    from tests.unit.models.conftest import NEGATIVE

    root = Path(shutil.copytree(entity_version, tmp_path / "v"))
    sentiment = tmp_path / "s.csv"
    sentiment.write_text("text,label\n" + "".join(f'"{t}",negative\n' for t in NEGATIVE), encoding="utf-8")
    out = record_gate(
        root, [("sentiment", sentiment), ("entity", _entity_file(tmp_path / "e.jsonl"))], ["bf16"]
    )
    ent = out["e/entity (bf16)"]
    assert ent["n"] == 9 and 0.0 <= ent["disagreeing_accuracy"] <= 1.0 and "multi_entity_macro_f1" in ent
    assert out["e/entity (fp32)"]["n"] == 9 and out["s/sentiment (fp32)"]["n"] == len(NEGATIVE)
    manifest = read_manifest(root)
    assert manifest["metrics"]["e/entity (bf16)"] == ent
    assert "e/entity (fp32)" in (root / "README.md").read_text()
    assert set(gate_table(manifest)["bf16"]) == {"s/sentiment"}  # entity rows are recorded, not gated


def test_joint_training_with_marker_layer_head_reloads_identically(tmp_path: Path) -> None:
    """Document and entity labels trained together (top layer unfrozen); the marker+layer head's
    copy of the top layer no longer equals the trained layer, so it travels with the version."""
    import torch
    from safetensors.torch import load_file

    from finsent.models import Classifier
    from finsent.models.entity_data import read_entity_jsonl
    from finsent.models.training import TrainConfig, train
    from tests.unit.models.conftest import tiny_examples

    torch.set_num_threads(2)
    entity = read_entity_jsonl(_entity_file(tmp_path / "e.jsonl")).examples
    config = TrainConfig(
        mode="top",
        train_layers=1,
        epochs=2,
        batch_size=8,
        max_length=32,
        entity_max_length=32,
        entity_design="marker+layer",
        entity_width=16,
        dev_fraction=0.0,
        adapter_dtype="float32",
        seed=5,
    )
    result = train([*tiny_examples(), *entity], tmp_path / "v", config, version="v-joint", progress=False)
    stored = load_file(str(result.path / "entity_head.safetensors"))
    assert any("lora_" in k for k in stored)
    trained_top = load_file(str(result.path / "encoder_extras.safetensors"))
    key = "attention.self.query"
    copy = stored[f"layer.{key}.base.weight"]
    assert not torch.equal(copy, trained_top[f"encoder.layer.5.{key}.weight"])
    text, up, down = ENTITY_ROWS[0]
    targets = [[EntityTarget(n, ((text.index(n), text.index(n) + len(n)),)) for n in (up, down)]]
    clf = Classifier.load(result.path, device="cpu", cpu_backend="fp32", max_length=32)
    (score,) = clf.predict([text], targets)
    assert clf.has_entity_head and [e.key for e in score.entities] == [up, down]
    assert torch.equal(clf._entity_head.layer.attention.self.query.base.weight, copy)
