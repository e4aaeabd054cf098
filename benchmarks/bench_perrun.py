"""Benchmark: the per-run law E(N, D, U) against the joint law E(N, D) on the paper's runs (issue 23, item 1).

Every downstream dataset of the paper's LAION runs (CLIP-WIT excluded) is one group; each is fitted on
its runs at or below its compute percentile (gmacs_total: 80th, then 70th as a second split) and
predicts the rest. N = per-sample GMACs (`gmacs`), D = samples seen, U = unique samples of the
upstream dataset (`perrun_table.PAPER_UNIQUE`), error = 1 - the paper's default metric per dataset.
Baseline: `fit_joint` per dataset (Hoffmann et al.'s grid, 200 bootstrap resamples, its 'prediction'
intervals). Prints per split and law: median / p90 miss in error-% points (overall and per upstream
dataset), runs off by > 10 points, coverage of the 50/80/90/95% intervals, median 90% width, and the
min / max of the predictions and interval endpoints (percent), and how many held-out runs lie above a
cheaper fitted run they dominate (error that rose with scale: no monotone law follows it). Prints
figures; not a test.

Usage: nice -n 10 python benchmarks/bench_perrun.py [PAPER_DIR] [--splits 0.8,0.7] [--n-boot 200]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (0.5, 0.8, 0.9, 0.95)


def joint_frame(rows: pd.DataFrame, train: pd.Series, n_boot: int) -> pd.DataFrame:
    """The baseline: fit_joint per group on its training rows, one row per held-out run."""
    from clipscale.laws.joint import fit_joint

    parts = []
    for lab, sub in rows.groupby("_group", sort=True):
        tr, ho = sub[train[sub.index]], sub[~train[sub.index]]
        fit = fit_joint(tr["_size"], tr["_data"], tr["_error"], n_boot=n_boot, label=lab, size_unit="GMACs per sample")
        part = ho[["downstream_dataset", "upstream_dataset"]].copy()
        part["actual_error_pct"] = 100 * ho["_error"].to_numpy()
        part["predicted_error_pct"] = 100 * fit.predict(ho["_size"], ho["_data"])
        for lev in LEVELS:
            with warnings.catch_warnings():                        # the joint law's bootstrap reaches inf
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = fit.predict_interval(ho["_size"], ho["_data"], level=lev)
            part[f"lo{100 * lev:g}_error_pct"], part[f"hi{100 * lev:g}_error_pct"] = 100 * lo, 100 * hi
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["abs_miss_pct_points"] = (out["predicted_error_pct"] - out["actual_error_pct"]).abs()
    return out


def summary(name: str, f: pd.DataFrame) -> None:
    m = f["abs_miss_pct_points"]
    per = "  ".join(f"{u} {g.median():.2f}/{g.quantile(0.9):.2f} (n={len(g)})"
                    for u, g in m.groupby(f["upstream_dataset"]))
    print(f"  {name}: {len(f)} held-out runs; miss median {m.median():.2f}, p90 {m.quantile(0.9):.2f} error-% points; "
          f"{int((m > 10).sum())} off by > 10 points")
    print(f"    per upstream dataset, median/p90: {per}")
    cov = []
    for lev in LEVELS:
        tag = f"{100 * lev:g}"
        inside = f["actual_error_pct"].between(f[f"lo{tag}_error_pct"], f[f"hi{tag}_error_pct"])
        cov.append(f"{tag}%: {inside.mean():.1%}")
    width = (f["hi90_error_pct"] - f["lo90_error_pct"]).median()
    ins90 = f["actual_error_pct"].between(f["lo90_error_pct"], f["hi90_error_pct"])
    per90 = "  ".join(f"{u} {g.mean():.1%}" for u, g in ins90.groupby(f["upstream_dataset"]))
    print(f"    coverage {', '.join(cov)}; median 90% width {width:.2f} points; 90% by upstream: {per90}")
    ends = f[[c for c in f.columns if c.startswith(("lo", "hi"))]].to_numpy()
    print(f"    predictions {f['predicted_error_pct'].min():.3g}% to {f['predicted_error_pct'].max():.4g}%; "
          f"interval endpoints {np.nanmin(ends):.3g}% to {np.nanmax(ends):.4g}%")


def rises(rows: pd.DataFrame, train: pd.Series) -> pd.Series:
    """Per held-out run, how far its error (error-% points) lies above the best fitted run of its group
    that it dominates (a model no larger, no more samples seen, no more unique data: N, D, U all <=);
    NaN when it dominates none. A law whose error never rises with N, D or U (every scaling law here)
    predicts such a run at or below its prediction for that fitted run: it misses one of the two by at
    least the rise, split between them."""
    fitted = rows[train]
    out = pd.Series(np.nan, index=rows.index[~train])
    for i, run in rows[~train].iterrows():
        f = fitted[(fitted["_group"] == run["_group"]) & (fitted["_size"] <= run["_size"])
                   & (fitted["_data"] <= run["_data"]) & (fitted["_unique"] <= run["_unique"])]
        if len(f):
            out[i] = 100 * (run["_error"] - f["_error"].min())
    return out


def print_rises(rise: pd.Series, actual_pct: np.ndarray, frames: dict[str, pd.DataFrame]) -> None:
    n = len(rise)
    for f in frames.values():  # the frames list the held-out runs in the order of `rise`
        assert np.allclose(f["actual_error_pct"].to_numpy(), actual_pct), "held-out runs out of order"
    print(f"  held-out runs whose error is above a cheaper fitted run they dominate: "
          + ", ".join(f"by > {t} points {int((rise > t).sum())}" for t in (0, 5, 10))
          + f" (of {n}; a p90 miss <= 5 allows {int(0.1 * n)} misses > 5)")
    for name, f in frames.items():
        big = f["abs_miss_pct_points"].to_numpy() > 5
        print(f"    {name}: {int(big.sum())} held-out runs missed by > 5 points, {int((big & (rise.to_numpy() > 0)).sum())} "
              "of them above a cheaper fitted run they dominate")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paper_dir", nargs="?", default=str(ROOT.parent / "shared" / "paper"))
    ap.add_argument("--splits", default="0.8,0.7", help="fitted compute percentiles, as fractions")
    ap.add_argument("--n-boot", type=int, default=200)
    args = ap.parse_args()
    from clipscale.laws import Holdout
    from clipscale.laws.perrun_table import PAPER_UNIQUE, backtest_perrun, table_runs

    r = pd.read_csv(Path(args.paper_dir) / "zeroshot_results.csv")
    r = r[r["upstream_dataset"] != "CLIP-WIT"]
    rows, _ = table_runs(r, unique=PAPER_UNIQUE)
    for keep in (float(s) for s in args.splits.split(",")):
        train = pd.Series(False, index=rows.index)
        for _, sub in rows.groupby("_group"):
            train[sub.index] = Holdout(top_frac=1 - keep).train_mask(sub["gmacs_total"].to_numpy(float))
        print(f"split: each dataset fitted on its runs at or below its {100 * keep:g}th compute percentile "
              f"({int(train.sum())} fitted, {int((~train).sum())} held out)")
        t0, c0 = time.perf_counter(), time.process_time()
        joint = joint_frame(rows, train, args.n_boot)
        summary("joint law E(N, D), N = per-sample GMACs", joint)
        print(f"    [{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU]")
        t0, c0 = time.perf_counter(), time.process_time()
        frame, fit = backtest_perrun(r, holdout=Holdout(top_frac=1 - keep), unique=PAPER_UNIQUE, n_boot=args.n_boot)
        summary("per-run law E(N, D, U), logit link", frame)
        cal = fit.calibration
        print(f"    R* = {fit.decay:.3g} repetitions; interval scale {fit.scale:.3f}, growth {fit.growth:.3f}/decade, "
              f"t({fit.tail_df:g}); rolling-origin coverage {cal.get('coverage')} on {cal.get('n_predictions')} "
              f"predictions; median extrapolation {frame['extrapolation_decades'].median():.2f} decades")
        print(f"    [{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU: fit, "
              f"{args.n_boot} bootstrap resamples, {len(cal.get('origins', []))} rolling-origin refits]")
        order = pd.concat([sub for _, sub in rows[~train].groupby("_group", sort=True)]).index  # the frames' row order
        print_rises(rises(rows, train).loc[order], 100 * rows.loc[order, "_error"].to_numpy(), {"joint": joint, "per-run": frame})


if __name__ == "__main__":
    main()
