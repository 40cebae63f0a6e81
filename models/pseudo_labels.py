"""Self-training: a teacher version fills the document label a training text lacks.

Twitter Financial News labels its topic tweets and its sentiment tweets separately (the two train
files share no text), so each head learns from only part of the in-domain text. A teacher (an
earlier version, trained on the same train split) labels the other head's texts; only predictions
whose top probability reaches ``threshold`` are kept (self-training with confidence selection:
Yarowsky 1995; Du et al., *Self-training Improves Pre-training for Natural Language
Understanding*, NAACL 2021). Gold labels are never replaced, and entity-labeled texts (news
paragraphs from another source) are left alone. Run on the train part only, after the dev split.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from finsent.models.data import Example
from finsent.models.labels import sentiment_index

__all__ = ["add_pseudo_labels"]


def add_pseudo_labels(
    train_ex: Sequence[Example],
    predict: Callable[[list[str]], Sequence[Any]],
    threshold: float,
) -> tuple[list[Example], Counter[str]]:
    """``train_ex`` with a missing topic or sentiment label filled where the teacher is confident.

    Args:
        train_ex: training examples (the dev split already carved out).
        predict: the teacher's ``Classifier.predict`` (one ``models.Score`` per text).
        threshold: smallest top-class probability kept.

    Returns:
        The examples (same order) and how many labels were added per head.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    todo = [i for i, e in enumerate(train_ex) if not e.entities and (e.topic is None or e.sentiment is None)]
    scores = predict([train_ex[i].text for i in todo]) if todo else []
    out = list(train_ex)
    added: Counter[str] = Counter()
    for i, score in zip(todo, scores, strict=True):
        e = out[i]
        if e.topic is None and max(score.topic_probs) >= threshold:
            e = replace(e, topic=score.topic)
            added["topic"] += 1
        if e.sentiment is None and max(score.sentiment_probs) >= threshold:
            e = replace(e, sentiment=sentiment_index(score.sentiment))
            added["sentiment"] += 1
        out[i] = e
    return out, added
