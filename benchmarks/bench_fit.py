"""Benchmark: fit all 41 downstream datasets x 2 groups of the paper with 1000 bootstrap resamples each.

Target (issue 2): under 10 s wall time on 2 cores. Prints wall times; not a test.
Usage: python benchmarks/bench_fit.py [PATH/zeroshot_results.csv]  (default ../shared/paper, else download)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from clipscale.laws import fit_table
    from clipscale.paper import load

    default = ROOT.parent / "shared" / "paper" / "zeroshot_results.csv"
    path = sys.argv[1] if len(sys.argv) > 1 else (default if default.exists() else None)
    results = load(path).results
    print(f"table: {len(results)} rows, {results['downstream_dataset'].nunique()} downstream datasets")
    for method, opts, n_boot in (("paper", {}, 1000), ("ls", {}, 1000), ("frontier", {}, 1000),
                                 ("frontier", {"loss": "huber"}, 1000)):
        start = time.perf_counter()
        fits = fit_table(results, method=method, n_boot=n_boot, **opts)
        wall = time.perf_counter() - start
        label = method + (f" ({', '.join(f'{k}={v}' for k, v in opts.items())})" if opts else "")
        print(f"{label:<22} {len(fits)} groups x {n_boot} resamples: {wall:6.2f} s wall "
              f"({(fits['status'] == 'ok').sum()} ok){'  <- target < 10 s' if method == 'paper' else ''}")
    start = time.perf_counter()
    sat = fit_table(results, method="saturating", n_boot=100, where="downstream_dataset==imagenet1k")
    print(f"saturating (imagenet1k only) {len(sat)} groups x 100 resamples: {time.perf_counter() - start:6.2f} s wall")


if __name__ == "__main__":
    main()
