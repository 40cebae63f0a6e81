"""Writing model version directories (weights, manifest, model card) and warm starts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finsent.models.entity_card import entity_card_lines
from finsent.models.labels import SENTIMENT_LABELS, TOPIC_LABELS
from finsent.models.network import DEFAULT_BASE_MODEL, read_manifest, write_manifest

__all__ = ["canonical_name", "new_version_id", "save_version", "warm_start", "write_model_card"]

_PEFT_PREFIX = "base_model.model."


def new_version_id(prefix: str = "v") -> str:
    """A sortable version id from the current UTC time, e.g. ``v20250101-120000``."""
    return f"{prefix}{datetime.now(UTC):%Y%m%d-%H%M%S}"


def canonical_name(name: str) -> str:
    """Name of a parameter of a peft-wrapped encoder as it is after ``merge_and_unload``."""
    if name.startswith(_PEFT_PREFIX):
        name = name[len(_PEFT_PREFIX) :]
    return name.replace(".base_layer.", ".")


def _extras(encoder: Any) -> dict[str, Any]:
    return {
        canonical_name(n): p.detach().cpu().contiguous()
        for n, p in encoder.named_parameters()
        if p.requires_grad and "lora_" not in n
    }


def save_version(
    model: Any,
    tokenizer: Any,
    out_dir: str | Path,
    *,
    version: str,
    config: dict[str, Any],
    dev_metrics: dict[str, float],
    history: list[dict[str, float]],
    fingerprint: str,
    n_train: int,
    n_dev: int,
) -> Path:
    """Write a version directory (see :mod:`models.network`) and return its path."""
    import torch
    from safetensors.torch import save_file

    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    encoder = model.encoder
    if config.get("mode") == "lora":
        encoder.save_pretrained(str(root / "adapter"))
        if config.get("adapter_dtype") == "float16":
            _to_fp16(root / "adapter" / "adapter_model.safetensors")
        extras = _extras(encoder)
        if extras:
            save_file(extras, str(root / "encoder_extras.safetensors"))
    elif config.get("mode") == "top":
        # Only the fine-tuned top layers travel; the rest comes from the base encoder at load.
        # Chosen by name, not by requires_grad: a frozen-encoder run still saves its layers.
        first = len(encoder.encoder.layer) - int(config.get("train_layers", 0))
        extras = {
            n: p.detach().cpu().contiguous()
            for n, p in encoder.named_parameters()
            if n.startswith("encoder.layer.") and int(n.split(".")[2]) >= first
        }
        if config.get("adapter_dtype") == "float16":
            extras = {k: v.to(torch.float16) for k, v in extras.items()}
        save_file(extras, str(root / "encoder_extras.safetensors"))
    else:
        encoder.save_pretrained(str(root / "encoder"))
    if config.get("mode") == "full" or config.get("base_model") not in (None, DEFAULT_BASE_MODEL):
        tokenizer.save_pretrained(str(root / "tokenizer"))
    save_file(model.head_state(), str(root / "heads.safetensors"))
    entity_spec = _save_entity_head(model, root, fp16=config.get("adapter_dtype") == "float16")
    manifest = {
        "format": 1,
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": config.get("base_model") or DEFAULT_BASE_MODEL,
        "parent_version": _parent_version(config.get("init_from")),
        "mode": config.get("mode"),
        "pooling": config.get("pooling", "mean"),
        "max_length": config.get("max_length"),
        "topic_labels": list(TOPIC_LABELS),
        "sentiment_labels": list(SENTIMENT_LABELS),
        "train_config": config,
        "data_fingerprint": fingerprint,
        "n_train": n_train,
        "n_dev": n_dev,
        "dev_metrics": dev_metrics,
        "history": history,
        "metrics": {},
        "torch_version": torch.__version__,
    }
    if entity_spec:
        manifest["entity_head"] = entity_spec
    write_manifest(root, manifest)
    write_model_card(root)
    return root


def _save_entity_head(model: Any, root: Path, *, fp16: bool) -> dict[str, Any] | None:
    """Write the entity head (if any) next to the other heads; returns its manifest entry."""
    import torch
    from safetensors.torch import save_file

    from finsent.models.entities import ENTITY_HEAD_FILE

    head = getattr(model, "entity_head", None)
    (root / ENTITY_HEAD_FILE).unlink(missing_ok=True)
    if head is None:
        return None
    dtype = torch.float16 if fp16 else torch.float32
    # The marker+layer head copies the encoder's top layer; if that layer was trained in the same
    # run, the copy it was trained with no longer equals it and must travel too.
    with_base = not head.base_matches(model.encoder.encoder.layer[-1])
    state = {k: v.to(dtype).contiguous() for k, v in head.export_state(with_base=with_base).items()}
    save_file(state, str(root / ENTITY_HEAD_FILE))
    spec: dict[str, Any] = head.spec()
    return spec


def _to_fp16(path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    save_file({k: v.to(torch.float16) for k, v in tensors.items()}, str(path))


def _parent_version(init_from: str | None) -> str | None:
    if not init_from:
        return None
    try:
        return str(read_manifest(init_from)["version"])
    except Exception:
        return None


def warm_start(path: str | Path, config: Any) -> tuple[Any, Any]:
    """A trainable model initialised from a saved version (same adapter/encoder kind)."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from finsent.models.network import DualHeadModel, _load_encoder, load_entity_head, tokenizer_source

    root = Path(path)
    manifest = read_manifest(root)
    config.base_model = manifest.get("base_model")
    config.pooling = manifest.get("pooling", config.pooling)
    if (root / "adapter").is_dir():
        from peft import PeftModel

        config.mode = "lora"
        base = _load_encoder(manifest.get("base_model"))
        encoder = PeftModel.from_pretrained(base, str(root / "adapter"), is_trainable=True)
        extras_path = root / "encoder_extras.safetensors"
        extras = load_file(str(extras_path)) if extras_path.is_file() else {}
        for name, param in encoder.named_parameters():
            key = canonical_name(name)
            if key in extras:
                param.data.copy_(extras[key])
                param.requires_grad = True
    elif (root / "encoder").is_dir():
        config.mode = "full"
        encoder = _load_encoder(str(root / "encoder"))
    else:
        config.mode = "top"
        # The parent's fine-tuned layers always stay trainable (and saved); asking for more
        # unfreezes lower layers too, which start from the base encoder.
        parent_layers = int(manifest.get("train_config", {}).get("train_layers", config.train_layers))
        config.train_layers = max(parent_layers, int(config.train_layers))
        encoder = _load_encoder(manifest.get("base_model"))
        extras = load_file(str(root / "encoder_extras.safetensors"))
        encoder.load_state_dict({k: v.float() for k, v in extras.items()}, strict=False)
        frozen = len(encoder.encoder.layer) - config.train_layers
        for name, param in encoder.named_parameters():
            param.requires_grad = name.startswith("encoder.layer.") and int(name.split(".")[2]) >= frozen
    model = DualHeadModel(encoder, pooling=config.pooling)
    heads = load_file(str(root / "heads.safetensors"))
    model.load_state_dict(heads, strict=False)
    model.entity_head = load_entity_head(root, manifest, encoder)
    if model.entity_head is not None:  # kept by training when its design is the one asked for
        model.entity_head.train()
    model.float()
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source(root, manifest))
    return model, tokenizer


def write_model_card(root: str | Path) -> Path:
    """(Re)write ``README.md`` of a version from its manifest (data, config, metrics, licence)."""
    root = Path(root)
    m = read_manifest(root)
    cfg = m.get("train_config", {})
    lines = [
        f"# finsent model {m['version']}",
        "",
        "Two-head classifier (one encoder pass): 20 finance **topics** and **sentiment**",
        "(negative / neutral / positive) of finance news headlines"
        + ("; plus the sentiment of each entity a text names." if m.get("entity_head") else "."),
        "",
        "## Model",
        f"- Base encoder: `{m['base_model']}` (all-MiniLM-L6-v2, 6 layers, hidden 384).",
        f"- Fine-tuning: {_describe_mode(m['mode'], cfg)}",
        f"- Pooling: {m['pooling']}; training max length {m['max_length']} tokens.",
        "- Input normalisation (training and inference): HTML entities decoded, links removed,",
        "  whitespace collapsed; long articles are scored as title + lead (`models.compose_text`).",
        f"- Training config: `{json.dumps(cfg, sort_keys=True)}`",
        f"- Data fingerprint: `{m['data_fingerprint']}` ({m['n_train']} train / {m['n_dev']} dev examples).",
        "",
        "## Data",
        "Trained on the *train* splits of Twitter Financial News (topic, 16,990 rows; sentiment,",
        "9,543 rows; sentiment 0 Bearish -> negative, 1 Bullish -> positive, 2 Neutral -> neutral).",
        f"Early stopping and model selection used a dev split ({cfg.get('dev_fraction')} of each",
        f"train file, seed {cfg.get('seed')}) carved from train; the *valid* splits were used only",
        "for the final evaluation below.",
        "",
        "Data licence: Twitter Financial News (`zeroshot/twitter-financial-news-sentiment` and",
        '`zeroshot/twitter-financial-news-topic`), (c) the dataset author "zeroshot", MIT License.',
        "The base encoder all-MiniLM-L6-v2 is Apache-2.0 (sentence-transformers).",
        "",
        *entity_card_lines(m.get("entity_head"), m),
        *_experiment_lines(m.get("experiments")),
        "## Dev metrics (model selection)",
        _table(m.get("dev_metrics", {})),
        "",
        *_bias_lines(m.get("bias_tuning")),
        "## Evaluation",
    ]
    evals = m.get("metrics", {})
    if m.get("evaluation_notes"):
        lines += [str(m["evaluation_notes"]), ""]
    if not evals:
        lines.append("Not evaluated yet (`finsent eval`).")
    for name, metrics in sorted(evals.items()):
        lines += [f"### {name}", _table(metrics), ""]
    lines += _distilled_lines(m.get("distilled"))
    card = root / "README.md"
    card.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return card


def _distilled_lines(spec: dict[str, Any] | None) -> list[str]:
    if not spec:
        return []
    cfg = spec.get("config", {})
    lines = [
        "## Distilled fast CPU variant (`cpu_backend=distilled`)",
        f"Encoder layers {spec['layers']} of this model with LoRA rank {cfg.get('rank')} deltas, trained",
        f"by knowledge distillation (temperature {cfg.get('temperature')}, distillation weight "
        f"{cfg.get('alpha')}, {cfg.get('epochs')} epochs) on the training data above; stored as",
        "`distilled.safetensors` (fp16 deltas, norms, biases and heads). `cpu_backend=auto` uses it only",
        "if it passed the gate below: macro-F1 within the allowed drop of the fp32 model on held-out data.",
        f"Made with `finsent models distill VERSION --layers {','.join(map(str, spec['layers']))} --rank "
        f"{cfg.get('rank')} --epochs {cfg.get('epochs')} --topic-data ... --sentiment-data ... "
        "--gate-topic ... --gate-sentiment ...`; the epoch was chosen on the dev split, the gate files",
        "only decide the gate.",
        "",
    ]
    gate = spec.get("gate")
    if not gate:
        return [*lines, "Not gated yet (`finsent models distill --skip-training --gate-...`).", ""]
    lines += [
        "| data | fp32 acc | fp32 macro-F1 | distilled acc | distilled macro-F1 | drop (points) |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in gate["results"].items():
        f, d = row["fp32"], row["distilled"]
        lines.append(
            f"| {name} (n={f['n']}) | {f['accuracy']:.4f} | {f['macro_f1']:.4f} | {d['accuracy']:.4f} "
            f"| {d['macro_f1']:.4f} | {row['macro_f1_drop'] * 100:.2f} |"
        )
    verdict = "passed" if gate["passed"] else "failed"
    return [*lines, "", f"Gate (max drop {gate['max_drop'] * 100:.1f} points): **{verdict}**.", ""]


def _experiment_lines(runs: list[dict[str, Any]] | None) -> list[str]:
    """The runs tried for this version, with their dev-split figures (never the valid ones)."""
    if not runs:
        return []
    keys = [
        k for k in ("sentiment", "topic", "entity") if any(f"{k}_macro_f1" in r.get("dev", {}) for r in runs)
    ]
    lines = [
        "## What was tried (dev split carved from train)",
        "| run | " + " | ".join(f"{k} acc / macro-F1" for k in keys) + " | note |",
        "|---|" + "---|" * len(keys) + "---|",
    ]
    for run in runs:
        dev = run.get("dev", {})
        cells = [
            f"{dev[f'{k}_accuracy']:.4f} / {dev[f'{k}_macro_f1']:.4f}" if f"{k}_macro_f1" in dev else "-"
            for k in keys
        ]
        lines.append(f"| {run['name']} | " + " | ".join(cells) + f" | {run.get('note', '')} |")
    return [*lines, ""]


def _bias_lines(tuning: dict[str, Any] | None) -> list[str]:
    if not tuning:
        return []
    return [
        f"Logit offsets {tuning['offsets']} were added to the {tuning['task']} head's bias, chosen on the",
        f"dev split for macro-F1 (dev macro-F1 {tuning['dev_macro_f1']:.4f}, accuracy "
        f"{tuning['dev_accuracy']:.4f}, n={tuning['n_dev']}).",
        "",
    ]


def _describe_mode(mode: str, cfg: dict[str, Any]) -> str:
    if mode == "lora":
        return (
            f"LoRA (peft) rank {cfg.get('lora_rank')}, alpha {cfg.get('lora_alpha')} on query/key/value/"
            "attention-output/FFN, LayerNorms and biases trained; merged into the base weights at load"
        )
    if mode == "top":
        return (
            f"the top {cfg.get('train_layers')} transformer layers fully fine-tuned (stored as "
            f"{cfg.get('adapter_dtype')}; embeddings and lower layers frozen and taken from the base "
            "encoder at load, their outputs cached once during training)"
        )
    return "full fine-tuning (the whole encoder is stored)"


def _table(metrics: dict[str, Any]) -> str:
    rows = ["| metric | value |", "|---|---|"]
    for k, v in metrics.items():
        if isinstance(v, (int, float)) and not re.match(r"^(epoch|step)$", k):
            rows.append(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |")
    return "\n".join(rows)
