"""The model card's section on the entity head (design, data and licence, design comparison)."""

from __future__ import annotations

from typing import Any

__all__ = ["entity_card_lines"]

_DESIGNS = {
    "mention": "the mean of the mention's final-layer token states",
    "mention+text": "the mention's pooled token states, the text's pooled vector and their product",
    "mention+attn": (
        "the mention's pooled states, the text's pooled vector and a mention-conditioned attention "
        "context over the text's tokens"
    ),
    "marker+layer": (
        "entity markers within the one pass: a learned marker vector is added to the mention's "
        "final-layer token states, one more transformer layer (a copy of the encoder's top layer "
        "with LoRA rank-16 deltas) runs over the text per entity, and the mention's and the text's "
        "pooled outputs feed the MLP"
    ),
}


def entity_card_lines(spec: dict[str, Any] | None, manifest: dict[str, Any] | None = None) -> list[str]:
    """Markdown lines for the manifest's ``entity_head`` entry (none without an entity head);
    ``manifest``: the version's, whose own run record describes a jointly trained head."""
    if not spec:
        return []
    design = str(spec.get("design"))
    lines = [
        "## Entity-targeted sentiment head",
        f"Design `{design}`: {_DESIGNS.get(design, design)}; a 2-layer MLP (width "
        f"{spec.get('width')}) gives negative / neutral / positive per entity.",
        "It reads the encoder's final-layer token states, so one encoder pass per text serves the",
        "document heads and all of its entities (`Classifier.predict(texts, targets)`); mentions are",
        "char spans into the raw text, mapped through the normalisation onto tokens. A target whose",
        "mentions were truncated away is scored from the text's pooled states (`from_mentions=False`).",
    ]
    if spec.get("notes"):
        lines.append(str(spec["notes"]))
    lines += [
        "",
        "Entity data: the *train* split of FinEntity (Tang, Yang, Huang, Tam, Tang: *FinEntity:",
        "Entity-level Sentiment Classification for Financial Texts*, EMNLP 2023), licence",
        "**Open Data Commons Attribution License (ODC-BY 1.0)**. A dev split carved from it chose",
        "the design and the epoch; `finentity/valid.jsonl` was used only for the evaluation below.",
        "",
    ]
    run = spec.get("training") or {}
    dev = run.get("dev_metrics") or {}
    if "entity_accuracy" in dev:
        cfg = run.get("train_config", {})
        lines += [
            f"Trained with the encoder and the document heads frozen (document outputs unchanged), "
            f"{run.get('n_train')} train / {run.get('n_dev')} dev texts, head LR {cfg.get('head_lr')}, batch "
            f"{cfg.get('batch_size')}, token limit {cfg.get('entity_max_length')}; best epoch "
            f"{int(dev.get('epoch', 0))}: dev entity accuracy {dev['entity_accuracy']:.4f}, macro-F1 "
            f"{dev['entity_macro_f1']:.4f}.",
            "",
        ]
    elif "entity_accuracy" in (manifest or {}).get("dev_metrics", {}):
        m = manifest or {}
        dev, cfg = m["dev_metrics"], m.get("train_config", {})
        lines += [
            f"Trained jointly with the document heads and the encoder's top {cfg.get('train_layers')} layers "
            f"(one loss: topic + sentiment + entity cross-entropy), entity texts repeated "
            f"{cfg.get('entity_oversample', 1)}x per epoch{_pairs(cfg)}, token limit "
            f"{cfg.get('entity_max_length')}; best epoch {int(dev.get('epoch', 0))}: dev entity accuracy "
            f"{dev['entity_accuracy']:.4f}, macro-F1 {dev['entity_macro_f1']:.4f}.",
            "",
        ]
    comparison = spec.get("design_comparison")
    if comparison:
        lines += [
            "| design (dev split of FinEntity train) | accuracy | macro-F1 | epoch |",
            "|---|---|---|---|",
        ]
        for name, row in comparison.items():
            lines.append(
                f"| {name} | {row['accuracy']:.4f} | {row['macro_f1']:.4f} | {row.get('epoch', '')} |"
            )
        lines.append("")
    return lines


def _pairs(cfg: dict[str, Any]) -> str:
    n = int(cfg.get("entity_pairs") or 0)
    return (
        f", plus {n:,} synthetic texts each joining two train texts of opposite entity sentiment" if n else ""
    )
