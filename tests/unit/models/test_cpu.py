"""CPU detection reads the machine's flags (never assumes them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsent.models import cpu

ZEN1 = "fma avx avx2 sse4_2"
ZEN5 = "avx2 avx512f avx512bw avx512_vnni avx_vnni avx512_bf16"
SPR = "avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_int8 amx_tile"


@pytest.mark.parametrize(
    ("flags", "bf16", "int8", "amx"),
    [(ZEN1, False, False, False), (ZEN5, True, True, False), (SPR, True, True, True)],
)
def test_flags_decide_native_bf16_and_int8(
    flags: str, bf16: bool, int8: bool, amx: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        f"processor\t: 0\nmodel name\t: Test CPU\ncpu family\t: 26\nmodel\t\t: 2\nflags\t\t: {flags}\n\n"
    )
    monkeypatch.setattr(cpu, "_CPUINFO", info)
    monkeypatch.setattr(cpu, "_torch_bf16", lambda: ("AVX512", True))
    cpu.cpu_info.cache_clear()
    try:
        got = cpu.cpu_info()
    finally:
        cpu.cpu_info.cache_clear()
    assert (got.bf16, got.int8, got.amx) == (bf16, int8, amx)
    assert got.model == "Test CPU (family 26, model 2)"


def test_onednn_without_bf16_means_no_bf16(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(f"model name\t: X\nflags\t\t: {ZEN5}\n")
    monkeypatch.setattr(cpu, "_CPUINFO", info)
    monkeypatch.setattr(cpu, "_torch_bf16", lambda: ("AVX512", False))
    cpu.cpu_info.cache_clear()
    try:
        assert cpu.cpu_info().bf16 is False
    finally:
        cpu.cpu_info.cache_clear()
