"""Benchmark: the joint law's full 4,500-start grid search on Epoch's Chinchilla data (240 runs).

Target (issue 12): <= 10 s wall time on this 2-core machine, reaching the certified objective
1.0183e-3 (Epoch AI, analyzing-chinchilla). Prints figures; not a test.
Usage: python benchmarks/bench_joint.py [PATH/svg_extracted_data.csv]  (default ../shared/chinchilla)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from clipscale.laws import _joint_opt as J

    default = ROOT.parent / "shared" / "chinchilla" / "svg_extracted_data.csv"
    df = pd.read_csv(sys.argv[1] if len(sys.argv) > 1 else default)
    n, c, loss = (df[k].to_numpy(float) for k in ("Model Size", "Training FLOP", "loss"))
    keep = loss < sorted(loss)[-5]                        # drop the 5 highest-loss runs (Epoch)
    ln, ld, le = np.log(n[keep]), np.log((c / (6 * n))[keep]), np.log(loss[keep])
    starts = J.start_grid()
    t0 = time.perf_counter()
    _, f_all = J.batch_minimise(starts, ln, ld, le, 1e-3)
    t_lm = time.perf_counter() - t0
    t0 = time.perf_counter()
    x, f, k = J.grid_search(ln, ld, le, 1e-3)
    wall = time.perf_counter() - t0
    a, b, e, alpha, beta = x
    print(f"data: {len(ln)} runs; grid: {k} starts")
    print(f"batched LM alone: {t_lm:6.2f} s wall; {int((f_all <= f * 1.001).sum())} starts within 0.1% of the best")
    print(f"grid_search (LM + L-BFGS-B polish): {wall:6.2f} s wall  <- target <= 10 s")
    print(f"objective {f:.5e} (certified 1.0183e-3); A={np.exp(a):.4g} B={np.exp(b):.4g} E={np.exp(e):.4g} "
          f"alpha={alpha:.4g} beta={beta:.4g}; a_opt=beta/(alpha+beta)={beta / (alpha + beta):.3f}")
    t0 = time.perf_counter()
    for s in starts[:20]:
        J.minimise(s, ln, ld, le, 1e-3)
    per = (time.perf_counter() - t0) / 20
    print(f"reference: one scipy L-BFGS-B start {per:.3f} s -> {per * len(starts):.0f} s for the grid (estimate)")


if __name__ == "__main__":
    main()
