"""Evaluation metrics and `finsent eval` on a Financial PhraseBank-format file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from finsent.models.evaluation import evaluate, expected_calibration_error, metrics_from_probs


@pytest.mark.parametrize(
    ("conf", "correct", "expected"),
    [
        ([1.0, 1.0], [True, True], 0.0),
        ([1.0, 1.0], [False, False], 1.0),
        ([0.8] * 10, [True] * 8 + [False] * 2, 0.0),
        ([0.9] * 4, [True, False, False, False], 0.65),
        ([], [], 0.0),
    ],
)
def test_ece(conf: list[float], correct: list[bool], expected: float) -> None:
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)


def test_metrics_from_probs() -> None:
    labels = ["negative", "neutral", "positive"]
    gold = [0, 1, 2, 2]
    probs = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.3, 0.2]]
    m = metrics_from_probs(gold, probs, labels)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert m["per_class"]["positive"]["recall"] == pytest.approx(0.5)
    assert m["per_class"]["negative"]["precision"] == pytest.approx(0.5)
    # negative F1 2/3, neutral 1, positive 2/3
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)


def _phrasebank(tmp_path: Path) -> Path:
    f = tmp_path / "Sentences_50Agree.txt"
    lines = [
        "Operating profit rose sharply and the company raised its outlook .@positive",
        "Net sales decreased and the company warned of losses .@negative",
        "The annual general meeting will be held in Helsinki .@neutral",
        "Shares surged after record quarterly results .@positive",
        "The company said it would cut 500 jobs as demand slumped .@negative",
        "Broken line without label",
    ]
    f.write_bytes("\n".join(lines).encode("latin-1"))
    return f


def test_evaluate_writes_report_and_plots(classifier: Any, tmp_path: Path) -> None:
    from finsent.models.data import read_phrasebank

    report = evaluate(classifier, read_phrasebank(_phrasebank(tmp_path)), tmp_path / "out")
    assert report.task == "sentiment" and report.n == 5 and report.skipped_rows == 1
    assert 0.0 <= report.accuracy <= 1.0 and 0.0 <= report.ece <= 1.0
    for key in ("report", "confusion_matrix", "reliability"):
        assert Path(report.files[key]).stat().st_size > 0
    assert Path(report.files["confusion_matrix"]).read_bytes()[:4] == b"\x89PNG"
    assert Path(report.files["reliability"]).read_bytes()[:4] == b"\x89PNG"
    data = json.loads(Path(report.files["report"]).read_text())
    assert data["macro_f1"] == report.macro_f1


def test_finsent_eval_on_phrasebank(
    tiny_version: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from finsent.cli import app

    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINSENT_MODELS__CPU_BACKEND", "fp32")
    out = tmp_path / "eval"
    args = ["eval", "--data", str(_phrasebank(tmp_path)), "--model", str(tiny_version), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "ece", "per_class"} <= set(report)
    assert (out / "sentiment_confusion_matrix.png").is_file()
    assert (out / "sentiment_reliability.png").is_file()
    human = CliRunner().invoke(app, args)
    assert human.exit_code == 0 and "macro-F1" in human.stdout


def test_finsent_eval_missing_file(tiny_version: Path, tmp_path: Path) -> None:
    from finsent.cli import app

    result = CliRunner().invoke(
        app, ["eval", "--data", str(tmp_path / "nope.txt"), "--model", str(tiny_version)]
    )
    assert result.exit_code == 65  # EX_DATAERR: bad input data (finsent.cli.errors)
    assert "error:" in result.output and "Traceback" not in result.output
