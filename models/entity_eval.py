"""Evaluation of entity-level sentiment: the same report, JSON and plots as the document tasks,
with the figures on texts naming 2+ entities and on texts whose entities disagree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finsent.models.data import LoadResult, read_dataset
from finsent.models.entities import EntityTarget
from finsent.models.entity_data import EntityData, disagrees, read_entity_jsonl
from finsent.models.evaluation import EvalReport, evaluate, metrics_from_probs, write_report
from finsent.models.labels import SENTIMENT_LABELS

if TYPE_CHECKING:
    from finsent.models.inference import Classifier

__all__ = ["entity_probs", "evaluate_entities", "evaluate_task", "read_task_data"]

#: The tasks ``finsent eval`` and the gate know: the document heads and FinEntity JSON lines.
TASKS = ("topic", "sentiment", "entity")


def read_task_data(
    path: str | Path, task: str | None, *, label_map: Mapping[str, str | int] | None = None, **columns: str
) -> LoadResult | EntityData:
    """Read ``path`` for ``task``: FinEntity JSON lines for ``entity``, else a labeled document
    file (``task=None`` guesses topic or sentiment from the file; ``columns`` name its text and
    label columns)."""
    if task not in (None, *TASKS):
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    if task == "entity":
        return read_entity_jsonl(path)
    return read_dataset(path, task, label_map=label_map, **columns)  # type: ignore[arg-type]  # checked above


def evaluate_task(
    classifier: Classifier, data: LoadResult | EntityData, out_dir: str | Path | None = None, **kw: Any
) -> EvalReport:
    """The report for data read by :func:`read_task_data` (entity data gets the entity report;
    ``kw`` goes to :func:`finsent.models.evaluation.evaluate`)."""
    if isinstance(data, EntityData):
        return evaluate_entities(classifier, data, out_dir)
    return evaluate(classifier, data, out_dir, **kw)


def entity_probs(classifier: Classifier, data: EntityData) -> tuple[list[list[float]], str]:
    """Per gold entity (file order), the probabilities the classifier gives it, and where they
    came from: ``entity`` (the entity head) or ``document`` (no entity head: the text's
    document sentiment stands in for each of its entities, the baseline to beat)."""
    texts = [e.text for e in data.examples]
    targets = [
        [EntityTarget(str(n), ((x.start, x.end),)) for n, x in enumerate(e.entities)] for e in data.examples
    ]
    scores = classifier.predict(texts, targets) if texts else []
    if classifier.has_entity_head:
        return [list(es.sentiment_probs) for s in scores for es in s.entities], "entity"
    return [
        list(s.sentiment_probs) for s, e in zip(scores, data.examples, strict=True) for _ in e.entities
    ], ("document")


def _subset(gold: Sequence[int], probs: Sequence[Sequence[float]], keep: Sequence[bool]) -> dict[str, float]:
    g = [x for x, k in zip(gold, keep, strict=True) if k]
    p = [x for x, k in zip(probs, keep, strict=True) if k]
    if not g:
        return {"n": 0, "accuracy": 0.0, "macro_f1": 0.0}
    m = metrics_from_probs(g, p, SENTIMENT_LABELS)
    return {"n": len(g), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}


def evaluate_entities(
    classifier: Classifier, data: EntityData, out_dir: str | Path | None = None
) -> EvalReport:
    """Score every gold entity of ``data`` and report accuracy, macro-F1 (over the classes
    present), per-class figures, ECE and the confusion matrix; ``subsets`` holds accuracy and
    macro-F1 on all entities, on the entities of texts with 2+ entities (``multi_entity``) and
    of texts whose entities disagree (``disagreeing``). With ``out_dir``: ``entity_report.json``,
    ``entity_confusion_matrix.png`` and ``entity_reliability.png``."""
    probs, source = entity_probs(classifier, data)
    gold = [x.sentiment for e in data.examples for x in e.entities]
    multi = [len(e.entities) > 1 for e in data.examples for _ in e.entities]
    split = [disagrees(e) for e in data.examples for _ in e.entities]
    m = metrics_from_probs(gold, probs, SENTIMENT_LABELS)
    report = EvalReport.from_metrics(
        m,
        task="entity",
        data=data.source,
        n=len(gold),
        labels=SENTIMENT_LABELS,
        classifier=classifier,
        skipped_rows=len(data.bad_rows),
        subsets={
            "all": _subset(gold, probs, [True] * len(gold)),
            "multi_entity": _subset(gold, probs, multi),
            "disagreeing": _subset(gold, probs, split),
        },
        source=source,
    )
    if out_dir is not None:
        write_report(report, m, Path(out_dir))
    return report
