"""What a bootstrap count costs a finished study's fits: `fit_study` (the laws per task, the backtest
and the joint law E(N, D)) on a demo-sized results table, timed at several `[fit] n_boot` values.

    PYTHONPATH=src python benchmarks/bench_n_boot.py [--n-boot 200 1000] [--repeat 2]

The table is synthetic but shaped like the default demo's (3 ladder-e models x 6 samples-seen
levels inside its compute band: 17 runs of embedded/objects), its errors drawn from a saturating
log-odds law with 3% scatter (seeded), so the timings need no trained study. Prints wall and CPU
seconds per n_boot (best of --repeat; CPU seconds do not depend on how busy the machine is) and the width of the headline law's 90% interval at the largest run, so
the cost can be weighed against how much the interval still moves.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import pandas as pd

#: per-sample GMACs of the default demo's models (clipscale.compute.gmacs_per_sample)
GMACS = {"ladder-e-xxs": 0.000356928, "ladder-e-xs": 0.001218688, "ladder-e-s": 0.004456704}
LEVELS = (8000, 16000, 32000, 64000, 128000, 256000)
MIN_GMACS_TOTAL = 5.0  # the preset's compute band: drops the levels at chance for the smallest model


def table(seed: int = 0) -> pd.DataFrame:
    """17 runs of a demo-like study: odds = 40 * C^-0.8 + 0.05 (C = total GMACs), 3% log scatter."""
    rng = np.random.default_rng(seed)
    rows = []
    for arch, g in GMACS.items():
        for s in LEVELS:
            c = g * s
            if c < MIN_GMACS_TOTAL:
                continue
            odds = (40.0 * c ** -0.8 + 0.05) * np.exp(rng.normal(0, 0.03))
            rows.append({"arch": arch, "samples_seen": float(s), "gmacs": g, "gmacs_total": c,
                         "upstream_dataset": "embedded-64K", "downstream_dataset": "embedded/objects",
                         "acc1": 1 - odds / (1 + odds), "task": "zeroshot_classification",
                         "eval_task": "embedded/objects", "run": f"{arch}_s{s}"})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, nargs="+", default=[200, 1000], help="values to time (default 200 1000)")
    ap.add_argument("--repeat", type=int, default=2, help="timings per value; the best is printed (default 2)")
    args = ap.parse_args()

    from clipscale.study.demo import preset_spec
    from clipscale.study.orchestrate import fit_study

    results = table()
    print(f"{len(results)} runs, compute {results['gmacs_total'].min():.3g} to {results['gmacs_total'].max():.3g} "
          "total GMACs (synthetic, demo-shaped)")
    with tempfile.TemporaryDirectory() as tmp:
        base = preset_spec("default", tmp)
        for n_boot in args.n_boot:
            spec = base.replace(fit={"n_boot": n_boot})
            times, cpus = [], []
            for _ in range(max(1, args.repeat)):
                t, c = time.perf_counter(), _cpu_s()
                fits, backtest, _note = fit_study(spec, results)
                times.append(time.perf_counter() - t)
                cpus.append(_cpu_s() - c)
            head = next(e for e in fits.entries if e.extra.get("headline"))
            lo, hi = head.fit.predict_interval([results["gmacs_total"].max()], 0.9)
            print(f"n_boot {n_boot:>5}: fit_study {min(times):6.2f} s wall, {min(cpus):6.2f} s CPU (best of "
                  f"{len(times)}, bootstrap worker processes included); headline 90% "
                  f"interval at the largest run {100 * lo[0]:.2f}-{100 * hi[0]:.2f}% error; backtest inside 90%: "
                  f"{int(backtest['inside_90'].fillna(False).astype(bool).sum())}/{len(backtest)}")


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the saturating laws' bootstrap pool)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
