"""Compare law forms on finished studies: R^2 on the compute frontier and the backtest (largest-compute
runs held out: mean absolute miss, held-out runs inside the 90% prediction interval).

    PYTHONPATH=src python benchmarks/bench_law_forms.py STUDY [STUDY ...] [--task embedded/objects]
        [--methods logodds,logodds-sat] [--holdout-top 3] [--n-boot 1000]

Reads STUDY/results.csv (zero-shot rows of the task); prints one line per study and method. Errors
and misses in error-percentage points; compute in total GMACs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", type=Path, nargs="+", help="finished study folders (each with results.csv)")
    ap.add_argument("--task", default="embedded/objects", help="downstream_dataset to fit (default embedded/objects)")
    ap.add_argument("--methods", default="logodds,logodds-sat", help="comma-separated law methods")
    ap.add_argument("--holdout-top", type=int, default=3, help="largest-compute runs held out (default 3)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    args = ap.parse_args()

    from clipscale.laws import Holdout, backtest, fit

    print("study | method | R^2 | law | backtest MAE (points) | inside 90% | actual % | predicted % | 90% PI %")
    for study in args.studies:
        d = pd.read_csv(study / "results.csv")
        d = d[(d["downstream_dataset"] == args.task) & (d["task"] == "zeroshot_classification")]
        c, e = d["gmacs_total"].to_numpy(float), 1.0 - d["acc1"].to_numpy(float)
        for method in args.methods.split(","):
            law = fit(c, e, method, n_boot=0)
            bt = backtest(c, e, method, holdout=Holdout(top=args.holdout_top), n_boot=args.n_boot)
            held = bt.held_out_frame()
            pi = ", ".join(f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(held["lo90_error_pct"], held["hi90_error_pct"]))
            print(f"{study} | {method} | {law.r2:.3f} | {law.formula()} | {bt.mae_pct:.2f} | "
                  f"{int(held['inside_90'].sum())}/{len(held)} | {_pct(held['actual_error_pct'])} | "
                  f"{_pct(held['predicted_error_pct'])} | {pi}")


def _pct(values) -> str:
    return ", ".join(f"{v:.2f}" for v in np.asarray(values, float))


if __name__ == "__main__":
    main()
