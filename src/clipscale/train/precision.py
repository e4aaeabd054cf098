"""Does this CPU run bf16 natively? (issue 10, item 5)

The measurement decides: bf16 counts as native only when a bf16 matmul is
measured faster than the same fp32 matmul (ratio > 1). The /proc/cpuinfo
flags (avx512_bf16, amx_bf16) are only a hint reported next to it. On a CPU
without native bf16, torch emulates it and it is slower than fp32, so the
planner must not pick it and MFU must be taken against the fp32 peak.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU feature flags of the first processor in /proc/cpuinfo (empty set if unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.split(":")[0].strip() in ("flags", "Features"):
            return set(line.split(":", 1)[1].split())
    return set()


def matmul_gflops(dtype_name: str, size: int = 512, repeats: int = 5, clock=time.perf_counter,
                  min_s: float = 0.2, warmup: int = 3) -> float:
    """Best GFLOP/s (1e9 FLOP/s, FLOPs = 2 n^3) of one square matmul in *dtype_name*, over at least
    *repeats* calls and *min_s* seconds, after *warmup* untimed calls (the first bf16 calls build
    oneDNN kernels; one warm-up call and 5 timed ones once read 34 GFLOP/s for a native bf16 that
    reads ~200 when warm, and the planner picked fp32 on an AVX-512 bf16 CPU)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    for _ in range(max(1, warmup)):
        torch.matmul(a, b)
    best, n, t0 = float("inf"), 0, clock()
    while n < repeats or clock() - t0 < min_s:
        start = clock()
        torch.matmul(a, b)
        best = min(best, clock() - start)
        n += 1
    return 2.0 * size ** 3 / max(best, 1e-12) / 1e9


@dataclass(frozen=True)
class Bf16Support:
    """Measured bf16 vs fp32 matmul speed (GFLOP/s) and the flag hint."""

    fp32_gflops: float
    bf16_gflops: float
    flag_hint: bool

    @property
    def ratio(self) -> float:
        """bf16 speed / fp32 speed (dimensionless; > 1 means bf16 is faster)."""
        return self.bf16_gflops / self.fp32_gflops

    @property
    def native(self) -> bool:
        """True only when bf16 was measured faster than fp32."""
        return self.ratio > 1.0

    def peak_gflops(self, precision: str) -> float:
        """The peak of the precision actually computed in: bf16's only when native, else fp32's."""
        return self.bf16_gflops if precision == "bf16" and self.native else self.fp32_gflops


def detect_bf16(fp32_gflops: float | None = None, bf16_gflops: float | None = None,
                flags: set[str] | None = None) -> Bf16Support:
    """Measure (or take the injected) fp32/bf16 matmul speeds and read the flag hint."""
    flags = cpu_flags() if flags is None else flags
    fp32, bf16 = fp32_gflops or 0.0, bf16_gflops or 0.0
    for _ in range(2):  # two interleaved rounds, the best of each: a slow spell hits both dtypes alike
        fp32 = max(fp32, matmul_gflops("float32")) if fp32_gflops is None else fp32
        bf16 = max(bf16, matmul_gflops("bfloat16")) if bf16_gflops is None else bf16
    return Bf16Support(fp32, bf16, any(f in flags for f in BF16_FLAGS))


def bf16_warning(support: Bf16Support) -> str | None:
    """One line when bf16 is not native here (the run proceeds), else None."""
    if support.native:
        return None
    return (f"warning: this CPU has no native bf16 (bf16 matmul {support.bf16_gflops:.0f} GFLOP/s vs "
            f"fp32 {support.fp32_gflops:.0f}); bf16 is emulated and slower, --precision fp32 is faster")
