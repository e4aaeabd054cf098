"""Time clipscale.compute.count over every architecture of the paper's arch_info.csv and print the
largest relative difference from the paper's figures (target: < 1% each, < 60 s all together).

Usage: python benchmarks/bench_compute.py [PAPER_DIR]   (default ../shared/paper)
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from clipscale.compute import count

FIELDS = {"gmacs": "gmacs", "image_gmacs": "image_gmacs", "text_gmacs": "text_gmacs",
          "mparams": "params_m", "image_mparams": "image_params_m", "text_mparams": "text_params_m"}


def main() -> None:
    torch.set_num_threads(1)
    paper = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "paper"
    table = pd.read_csv(paper / "arch_info.csv")
    start = time.perf_counter()
    worst_all = 0.0
    for row in table.itertuples(index=False):
        t0 = time.perf_counter()
        c = count(row.model)
        seconds = time.perf_counter() - t0
        rel = {col: abs(getattr(c, ours) - getattr(row, col)) / getattr(row, col) for col, ours in FIELDS.items()}
        col, worst = max(rel.items(), key=lambda kv: kv[1])
        worst_all = max(worst_all, worst)
        print(f"{row.model:<18} gmacs {c.gmacs:9.2f} (paper {row.gmacs:9.2f})  worst field {col:<13} "
              f"{100 * worst:5.2f}%  {seconds:5.2f} s")
    total = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"architectures: {len(table)}  total_seconds: {total:.1f}  worst_relative_difference_percent: "
          f"{100 * worst_all:.3f}  peak_rss_mib: {peak_mib:.0f}")


if __name__ == "__main__":
    main()
