"""What this machine's CPU can do fast: detected at run time, never assumed.

The fastest inference path differs between CPUs (bf16 needs AVX-512 BF16 or AMX, int8 pays off
with VNNI or AMX); :func:`cpu_info` reads ``/proc/cpuinfo`` flags and asks torch / oneDNN, so the
same code picks the right path on an AMD Zen 1 (AVX2 only), a Zen 5 or a Sapphire Rapids Xeon.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["CpuInfo", "cpu_info"]

_CPUINFO = Path("/proc/cpuinfo")
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as inference cares about it.

    ``model`` names the CPU precisely enough to key cached decisions on (vendor model name plus
    family/model/stepping, because hypervisors often report only "AMD EPYC").
    """

    model: str
    capability: str  # torch's kernel level: DEFAULT, AVX2, AVX512, ...
    bf16: bool  # native bf16 matrix instructions (AVX-512 BF16 or AMX) usable by oneDNN
    int8: bool  # native int8 dot products (VNNI or AMX)
    amx: bool
    flags: tuple[str, ...]  # the matrix-relevant flags seen

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (logs, bench reports, the auto-choice cache)."""
        return asdict(self)


def _proc_cpuinfo() -> dict[str, str]:
    """The first processor block of /proc/cpuinfo (empty where there is none: macOS, Windows)."""
    try:
        text = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _model_name(info: dict[str, str]) -> str:
    name = info.get("model name") or platform.processor() or platform.machine() or "unknown"
    ids = [f"{k.split()[-1]} {info[k]}" for k in ("cpu family", "model", "stepping") if info.get(k)]
    return f"{name} ({', '.join(ids)})" if ids else name


def _torch_bf16() -> tuple[str, bool]:
    """torch's CPU capability and whether oneDNN reports native bf16."""
    import torch

    capability = str(torch.backends.cpu.get_cpu_capability())
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        onednn = bool(check()) if check is not None else False
    except RuntimeError:  # a build without oneDNN
        onednn = False
    return capability, onednn


@functools.cache
def cpu_info() -> CpuInfo:
    """Detect this machine's CPU (cached for the process)."""
    info = _proc_cpuinfo()
    flags = set(info.get("flags", info.get("Features", "")).split())
    capability, onednn_bf16 = _torch_bf16()
    # oneDNN alone says "supported" on plain AVX-512 (it emulates); native needs the flags. On a
    # machine without /proc/cpuinfo flags, trust oneDNN.
    native_bf16 = any(f in flags for f in _BF16_FLAGS) if flags else onednn_bf16
    seen = tuple(sorted(f for f in flags if f in (*_BF16_FLAGS, *_INT8_FLAGS) or f.startswith("avx512")))
    return CpuInfo(
        model=_model_name(info),
        capability=capability,
        bf16=native_bf16 and onednn_bf16,
        int8=any(f in flags for f in _INT8_FLAGS),
        amx="amx_bf16" in flags or "amx_int8" in flags,
        flags=seen,
    )
