"""Benchmark: the joint law's full 4,500-start grid search on Epoch's Chinchilla data (240 runs).

Target (issue 12): <= 10 s wall time on this 2-core machine, reaching the certified objective
1.0183e-3 (Epoch AI, analyzing-chinchilla). Prints figures; not a test.
Usage: python benchmarks/bench_joint.py [PATH/svg_extracted_data.csv]  (default ../shared/chinchilla)
       python benchmarks/bench_joint.py --paper [DATASET,...]   the docs/laws.md comparison: joint law vs
       frontier and paper methods, backtest on the paper's 29 OpenCLIP runs (fit below the 80th compute
       percentile, predict the rest), MAE in error-percentage points (minutes for all 41 datasets)
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
    a, b, e, size_exp, data_exp = x
    print(f"data: {len(ln)} runs; grid: {k} starts")
    print(f"batched LM alone: {t_lm:6.2f} s wall; {int((f_all <= f * 1.001).sum())} starts within 0.1% of the best")
    print(f"grid_search (LM + L-BFGS-B polish): {wall:6.2f} s wall  <- target <= 10 s")
    print(f"objective {f:.5e} (certified 1.0183e-3); A={np.exp(a):.4g} B={np.exp(b):.4g} E={np.exp(e):.4g} "
          f"size_exp={size_exp:.4g} data_exp={data_exp:.4g}; a_opt=data_exp/(size_exp+data_exp)="
          f"{data_exp / (size_exp + data_exp):.3f}")
    t0 = time.perf_counter()
    for s in starts[:20]:
        J.minimise(s, ln, ld, le, 1e-3)
    per = (time.perf_counter() - t0) / 20
    print(f"reference: one scipy L-BFGS-B start {per:.3f} s -> {per * len(starts):.0f} s for the grid (estimate)")


def paper(datasets: list[str] | None) -> None:
    from clipscale.laws import Holdout, fit_table
    from clipscale.laws.joint_table import fit_joint_table

    folder = ROOT.parent / "shared" / "paper"
    r = pd.read_csv(folder / "zeroshot_results.csv")
    archs = pd.read_csv(folder / "arch_info.csv")[["model", "mparams"]].rename(columns={"model": "arch"})
    r = r.merge(archs, on="arch", how="left")
    r = r[r["upstream_dataset"] != "CLIP-WIT"].assign(params=lambda d: d["mparams"] * 1e6)  # parameters
    if datasets:
        r = r[r["downstream_dataset"].isin(datasets)]
    split = {"holdout": Holdout(top_frac=0.2), "group_by": ["downstream_dataset"]}
    table = {m: fit_table(r, method=m, n_boot=0, **split) for m in ("frontier", "paper")}
    table["joint, N = parameters"] = fit_joint_table(r, size_col="params", cost_col="gmacs",
                                                     data_col="samples_seen", n_boot=0, **split)[0]
    table["joint, N = per-sample GMACs"] = fit_joint_table(r, size_col="gmacs", data_col="samples_seen",
                                                           n_boot=0, **split)[0]
    for name, t in table.items():
        mae = t["backtest_mae_pct"]
        print(f"{name:<28} median {mae.median():6.2f}  mean {mae.mean():10.4g}  finite {mae.notna().sum()}/{len(t)}  "
              + "  ".join(f"{d}={v:.2f}" for d, v in zip(t["downstream_dataset"], mae)
                          if d in ("imagenet1k", "imagenetv2", "mscoco_captions", "vtab/cifar100", "sun397")))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--paper":
        paper(sys.argv[2].split(",") if len(sys.argv) > 2 else None)
    else:
        main()
