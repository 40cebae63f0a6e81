"""How `finsent bench inference` prints its report: methods, ratios, the matrix ceiling, the profile."""

from __future__ import annotations

from typing import Any

from finsent.cli.common import console

__all__ = ["print_inference_report"]


def print_inference_report(report: dict[str, Any]) -> None:
    """The bench's figures as a table plus one line each for the ceiling and the auto profile."""
    from rich.table import Column, Table

    table = Table(
        Column("method", no_wrap=True),
        "backend",
        "docs",
        "docs/s",
        "x pipeline 1-by-1",
        "x pipeline b64",
        "GFLOP/s",
        "of ceiling",
        "peak RSS MB",
    )
    for r in report["results"]:
        table.add_row(
            r["method"],
            r.get("backend") or "",
            str(r["docs"]),
            f"{r['docs_per_s']:.1f}",
            f"{r['x_pipeline_single']:.2f}",
            f"{r['x_pipeline_batch64']:.2f}",
            f"{r['gflops']:.0f}",
            f"{100 * r['x_ceiling']:.0f}%",
            f"{r['peak_rss_mb']:.0f}",
        )
    c = report["ceiling"]
    console.print(
        f"model {report['model_version']}, {report['texts']} texts, mean {report['mean_tokens']:.1f} tokens, "
        f"{report['threads']} threads on {report['cpu']}; engine auto on CPU = {report['auto_cpu_backend']}",
        soft_wrap=True,
    )
    rates = ", ".join(f"{k} {v:.0f}" for k, v in c["gflops"].items())
    skipped = "; ".join(f"{k}: {v}" for k, v in c["skipped"].items())
    console.print(
        f"matrix ceiling at the model's shapes {tuple(c['shape'])} (GFLOP/s): {rates}"
        f"{f' (not measured: {skipped})' if skipped else ''}; model {c['flops_per_doc'] / 1e6:.0f} MFLOP/doc "
        f"-> best ceiling {c['ceiling_docs_per_s']:.0f} docs/s",
        soft_wrap=True,
    )
    console.print(table)
    p = report.get("profile")
    if p:
        ops = ", ".join(f"{k} {v:.2f}s" for k, v in p["op_seconds"].items())
        same = p["x_same_precision_ceiling"]
        split = (
            f"predict {p['end_to_end_s']:.2f}s = tokenise {p['tokenise_s']:.2f}s + pad {p['pad_s']:.3f}s"
            f" + forward {p['forward_s']:.2f}s (+ rest)"
        )
        matrix = (
            f"matrix ops {100 * p['matrix_share_of_ops']:.0f}% of operator time, running at "
            f"{p['matrix_gflops']:.0f} GFLOP/s{_share(same, p['precision'])}"
        )
        console.print(
            f"profile of auto ({p['backend']}, {p['docs']} docs): {split}; {matrix}; top ops: {ops}",
            soft_wrap=True,
        )


def _share(fraction: float | None, precision: str) -> str:
    return f" = {100 * fraction:.0f}% of the {precision} ceiling" if fraction else ""
