"""Frontier intervals on held-out runs: today's methods (bootstrap + residual scatter) against the
recommended law `auto` (form chosen per group by a rolling-origin backtest, intervals calibrated on
the fitted runs: clipscale.laws.recommended).

    PYTHONPATH=src python benchmarks/bench_frontier_intervals.py [STUDY ...] [--splits 80,70]
        [--methods frontier,paper,logodds-sat,saturating,frontier+cal,auto] [--n-boot 1000]
        [--n-boot-nonlinear 200] [--top 3] [--n-test 4800] [--task embedded/objects]

The paper's data (../shared/paper/zeroshot_results.csv): LAION runs (upstream_dataset != CLIP-WIT),
each downstream dataset one group, fitted on its runs at or below its P-th compute percentile
(gmacs_total); the targets are the runs above it on their dataset's compute frontier (error at or
below every cheaper run's). Per method: coverage of the 50/80/90/95% intervals, median 90% width,
median and p90 miss (error-% points), overall and per upstream dataset. `frontier+cal` is the
frontier law with calibrated intervals (the calibration alone, without the form choice).

STUDY folders (finished studies: results.csv): the `top` largest-compute frontier runs of the task
are judged and every run at or above the cheapest of them held out (clipscale.laws.rolling.
frontier_holdout); n_test from the `n_test` column, else `n_images`, else --n-test (4,800: 50 test
images x 96 classes of embedded/objects in the medium-v1 world).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (0.5, 0.8, 0.9, 0.95)
NONLINEAR = ("logodds-sat", "saturating")


def predict(method: str, c, e, target_c, n_boot: int, n_test=None) -> dict:
    """Point prediction and the intervals at LEVELS (error fractions) of `method` fitted to (c, e)."""
    from clipscale.laws import calibrate as K, fit
    from clipscale.laws.recommended import fit_recommended

    out: dict = {}
    if method in ("auto", "frontier+cal"):
        if method == "auto":
            res, cal = fit_recommended(c, e, n_test=n_test, n_boot=n_boot)
        else:
            res = fit(c, e, "frontier", n_boot=n_boot)
            cal = K.calibrate(res, n_test=n_test)
        out["form"] = res.method
        for lev in LEVELS:
            out[f"lo{lev}"], out[f"hi{lev}"] = K.calibrated_interval(res, target_c, lev, cal)
    else:
        res = fit(c, e, method, n_boot=n_boot)
        out["form"] = method
        for lev in LEVELS:
            out[f"lo{lev}"], out[f"hi{lev}"] = res.predict_interval(target_c, lev)
    out["predicted"] = res.predict(target_c)
    return out


def paper_rows(methods, pct: float, n_boot: int, n_boot_nonlinear: int) -> pd.DataFrame:
    from clipscale.laws import prepare_table
    from clipscale.laws.rolling import frontier_targets

    data = prepare_table(ROOT.parent / "shared" / "paper" / "zeroshot_results.csv",
                         where=["upstream_dataset!=CLIP-WIT"])
    rows = []
    for method in methods:
        t0 = time.process_time()
        for ds, sub in data.groupby("downstream_dataset"):
            c, e = sub["_compute"].to_numpy(float), sub["_error"].to_numpy(float)
            train = c <= np.percentile(c, pct)
            held = ~train
            front = frontier_targets(c, e) & held
            if not held.any():
                continue
            nb = n_boot_nonlinear if method in NONLINEAR else n_boot
            got = predict(method, c[train], e[train], c[held], nb)
            frame = pd.DataFrame({k: v for k, v in got.items() if k != "form"})
            frame = frame.assign(method=method, split=pct, dataset=ds, form=got["form"], frontier=front[held],
                                 upstream=sub["upstream_dataset"].to_numpy()[held], actual=e[held])
            rows.append(frame)
        print(f"  [{method} at the {pct:g}th percentile: {time.process_time() - t0:.0f} s CPU]", flush=True)
    return pd.concat(rows, ignore_index=True)


def summary(df: pd.DataFrame) -> dict:
    miss = 100 * (df["predicted"] - df["actual"]).abs()
    out = {"n": len(df)}
    for lev in LEVELS:
        out[f"in{lev:.0%}"] = f"{((df['actual'] >= df[f'lo{lev}']) & (df['actual'] <= df[f'hi{lev}'])).mean():.0%}"
    out["width90"] = round(float(100 * (df["hi0.9"] - df["lo0.9"]).median()), 2)
    out["miss_med"] = round(float(miss.median()), 2)
    out["miss_p90"] = round(float(miss.quantile(0.9)), 2)
    return out


def print_paper(df: pd.DataFrame) -> None:
    for (pct, method), sub in df.groupby(["split", "method"], sort=False):
        front = sub[sub["frontier"]]
        line = summary(front)
        forms = front.groupby("dataset")["form"].first().value_counts().to_dict()
        print(f"split {pct:g} | {method:<12} | frontier targets {line.pop('n')} | "
              + " ".join(f"{k} {v}" for k, v in line.items())
              + f" | all held-out runs: miss_med {100 * (sub['predicted'] - sub['actual']).abs().median():.2f}"
              + (f" | forms {forms}" if method == "auto" else ""))
        for up, part in front.groupby("upstream"):
            s = summary(part)
            print(f"    {up:<10} n {s.pop('n'):>3} " + " ".join(f"{k} {v}" for k, v in s.items()))


def study_rows(study: Path, methods, top: int, task: str, n_boot: int, n_test_default: int) -> list[str]:
    from clipscale.laws.rolling import frontier_holdout

    d = pd.read_csv(study / "results.csv")
    d = d[(d["downstream_dataset"] == task) & (d["task"] == "zeroshot_classification")]
    c, e = d["gmacs_total"].to_numpy(float), 1.0 - d["acc1"].to_numpy(float)
    col = next((k for k in ("n_test", "n_images") if k in d.columns and d[k].notna().all()), None)
    n_test = d[col].to_numpy(float) if col else np.full(len(d), float(n_test_default))
    train, judged = frontier_holdout(c, e, top)
    lines = [f"{study} | {len(c)} runs, {int(train.sum())} fitted, {int((~train).sum())} held out, "
             f"{int(judged.sum())} judged frontier runs | n_test from {col or '--n-test'} ({n_test[0]:g})"]
    for method in methods:
        got = predict(method, c[train], e[train], c[judged], n_boot, n_test[train] if method in ("auto", "frontier+cal") else None)
        inside = (e[judged] >= got["lo0.9"]) & (e[judged] <= got["hi0.9"])
        shown = "; ".join(f"{100 * a:.2f} pred {100 * p:.2f} [{100 * lo:.2f}, {100 * hi:.2f}]"
                          for a, p, lo, hi in zip(e[judged], got["predicted"], got["lo0.9"], got["hi0.9"]))
        lines.append(f"    {method:<12} form {got['form']:<11} inside 90% {int(inside.sum())}/{inside.size} "
                     f"miss {100 * np.median(np.abs(got['predicted'] - e[judged])):.2f} | {shown}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", type=Path, nargs="*", help="finished study folders (each with results.csv)")
    ap.add_argument("--splits", default="80,70", help="compute percentiles to fit at or below (default 80,70)")
    ap.add_argument("--methods", default="frontier,paper,logodds-sat,saturating,frontier+cal,auto")
    ap.add_argument("--study-methods", default="logodds-sat,auto", help="methods for the study folders")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--n-boot-nonlinear", type=int, default=200,
                    help="resamples for logodds-sat and saturating on the paper's data (default 200: each "
                         "resample is a nonlinear fit)")
    ap.add_argument("--top", type=int, default=3, help="largest-compute frontier runs judged per study")
    ap.add_argument("--task", default="embedded/objects", help="downstream_dataset of the studies")
    ap.add_argument("--n-test", type=int, default=4800, help="test images when results.csv has no n_test")
    ap.add_argument("--no-paper", action="store_true", help="only the study folders")
    args = ap.parse_args()
    t0 = time.time()
    if not args.no_paper:
        frames = [paper_rows(args.methods.split(","), float(p), args.n_boot, args.n_boot_nonlinear)
                  for p in args.splits.split(",")]
        print_paper(pd.concat(frames, ignore_index=True))
    for study in args.studies:
        print("\n".join(study_rows(study, args.study_methods.split(","), args.top, args.task, args.n_boot,
                                   args.n_test)), flush=True)
    print(f"[{time.time() - t0:.0f} s wall]")


if __name__ == "__main__":
    main()
