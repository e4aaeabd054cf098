"""Benchmark of the demo: wall time of the smoke and default presets, and the fraction of the
machine's measured fp32 matmul peak that the whole study sustains.

    python benchmarks/bench_demo.py [--presets smoke,default] [--out DIR]

Sustained = training FLOPs of every run / wall time of the whole study (evaluation, start-up and
fitting included, so this is the end-to-end figure, lower than a trainer's MFU). Training FLOPs =
3 (forward + backward) x 2 (FLOPs per MAC) x GMACs per sample x samples seen, counted by
clipscale.compute. Peak = the best of several large fp32 matmuls with all cores (torch threads =
os.cpu_count()).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of an n x n matmul with all cores."""
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm up
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n ** 3 / (time.perf_counter() - t) / 1e9)
    return best


def study_train_gflop(preset: str, out: Path) -> float:
    """Training FLOPs (GFLOP) of every run of a preset."""
    from clipscale.study.demo import preset_spec
    from clipscale.compute import gmacs_per_sample

    spec = preset_spec(preset, out)
    return sum(3 * 2 * gmacs_per_sample(r.model) * r.samples_seen for r in spec.runs())


def run_preset(preset: str, out: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "clipscale", "demo", "--preset", preset, "--out", str(out),
                           "--quiet"], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"demo --preset {preset} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    return {"preset": preset, "wall_s": round(wall, 1), "law": summary.get("law"), "stdout": proc.stdout}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="smoke,default")
    ap.add_argument("--out", help="keep the study folders here (default: a temporary folder)")
    args = ap.parse_args()
    peak = matmul_peak_gflops()
    print(f"machine: {os.cpu_count()} cores, fp32 matmul peak {peak:.1f} GFLOP/s")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        for preset in args.presets.split(","):
            out = root / preset
            res = run_preset(preset, out)
            gflop = study_train_gflop(preset, out)
            sustained = gflop / res["wall_s"]
            law = res["law"] or {}
            print(f"{preset}: wall {res['wall_s']:.1f} s, training {gflop:.0f} GFLOP, sustained "
                  f"{sustained:.2f} GFLOP/s = {100 * sustained / peak:.1f}% of peak; "
                  f"law R^2 {law.get('r2')}, alpha {law.get('alpha')}, backtest MAE {law.get('backtest_mae_pct')} pts")
            print("  " + res["stdout"].strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
