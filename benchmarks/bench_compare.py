"""Calibration of `clipscale compare` on synthetic pairs of laws with a known crossing (the longer
version of tests/laws/test_compare_calibration.py).

For each setting it prints: how often the 90% crossover set holds the true crossing (all pairs),
how often an interval is reported (closed within the search range) and how often a reported one
holds the truth, and the reliability of p_steeper (claimed probability binned against the observed
frequency). Synthetic pairs: tests/laws/compare_sim.py (scatter = the paper's residual sd).

Usage: python benchmarks/bench_compare.py [--reps 1000] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "laws"))
from compare_sim import PAPER_SD, reliability, simulate  # noqa: E402

from clipscale.laws.compare import PARAMETRIC_BELOW  # noqa: E402

FRONTIER_SD = 0.017  # median residual sd of the paper's openclip frontier laws (docs/compare.md)


def report(name: str, df, reps_s: float, show_far: bool = False) -> None:
    rep = df[df["reported"]]
    n = len(df)
    se = lambda p, k: np.sqrt(p * (1 - p) / max(k, 1))
    cov_set, cov_rep = df["covered_set"].mean(), rep["covered"].mean() if len(rep) else float("nan")
    failed = df.attrs.get("failed", 0)
    print(f"\n## {name}  ({n} pairs{f', {failed} more could not be fitted' if failed else ''}, {reps_s:.0f} s)")
    print(f"crossover 90% set holds the truth: {cov_set:.3f} (+-{se(cov_set, n):.3f});  interval reported: "
          f"{len(rep) / n:.2f};  reported interval holds the truth: {cov_rep:.3f} (+-{se(cov_rep, len(rep)):.3f}, "
          f"{len(rep)} intervals)")
    rel = reliability(df["p_steeper"], df["steeper_right"])
    print("p_steeper reliability:\n" + rel.to_string(index=False, float_format="{:.3f}".format))
    if show_far:
        rel = reliability(df["p_a_better_far"], df["a_better_far"])
        print("P(A better) at 10x the largest compute, reliability:\n"
              + rel.to_string(index=False, float_format="{:.3f}".format))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000, help="pairs per main setting (small-n settings: reps / 2.5)")
    ap.add_argument("--quick", action="store_true", help="only the two main settings")
    ap.add_argument("--only", metavar="TEXT", help="only the settings whose name contains TEXT")
    args = ap.parse_args()
    start = time.perf_counter()
    settings = [("ls, 10-30 runs per recipe, 2-3 decades, sd 0.048, draws: runs (the law's bootstrap)",
                 dict(scheme="runs"), True),
                ("ls, 10-30 runs, 2-3 decades, sd 0.048, draws: parametric", dict(scheme="parametric"), False),
                ("ls, 10-30 runs, 2-3 decades, sd 0.048, draws: runs without the small-sample spread",
                 dict(scheme="runs", spread=False), False)]
    if not args.quick:
        for n in (3, 4, 6, 10):
            for scheme in ("runs", "parametric"):
                pooled = ", pooled scatter" if scheme == "parametric" and n < PARAMETRIC_BELOW else ""
                settings.append((f"ls, {n} runs per recipe, 2-3 decades, sd 0.048, draws: {scheme}{pooled}",
                                 dict(scheme=scheme, n=(n, n), reps=int(args.reps / 2.5)), False))
        for diff in (0.1, 0.3):
            settings.append((f"ls, 3 runs for A (the paper's WIT) and 20-30 for B, exponents within +-{diff}, "
                             "draws: auto (parametric, pooled scatter for A; runs for B)",
                             dict(scheme="auto", n=(3, 3), n_b=(20, 30), max_diff=diff), False))
        settings.append(("ls, 3 runs per recipe, exponents within +-0.3, draws: auto (parametric, pooled scatter)",
                         dict(scheme="auto", n=(3, 3), max_diff=0.3, reps=int(args.reps / 2.5)), False))
        settings.append(("ls, 3 runs for A and 20-30 for B, exponents within +-0.1, draws: parametric from A's own "
                         "scatter (not pooled); runs for B", dict(scheme="auto", n=(3, 3), n_b=(20, 30), pool=False),
                         False))
        settings.append(("frontier, 10-30 runs, 2-3 decades, sd 0.017 (all runs scattered about the law), "
                         "draws: runs", dict(scheme="runs", method="frontier", sd=FRONTIER_SD), False))
    for i, (name, kw, far) in enumerate(settings):
        reps = kw.pop("reps", args.reps)
        if args.only and args.only not in name:
            continue
        t0 = time.perf_counter()
        df = simulate(reps, seed=1000 + i, **{"sd": PAPER_SD, **kw})
        report(name, df, time.perf_counter() - t0, far)
    print(f"\ntotal_seconds: {time.perf_counter() - start:.0f}")


if __name__ == "__main__":
    main()
