"""Time a finished study's fits and report from its folder: the laws per task and evaluation type, the
joint law E(N, D) with its bootstrap (what `study finish` adds), and the report that reads fits.json back.

    PYTHONPATH=src python benchmarks/bench_study_fits.py demo-out [--repeat 3]

Reads STUDY/study.json, results.csv and curves.csv; writes only into a temporary folder (the study's
own folder is left as it is). Prints seconds per step (best of --repeat) and the joint law's numbers.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", type=Path, help="a finished study folder (e.g. demo-out)")
    ap.add_argument("--repeat", type=int, default=3, help="timings per step; the best is printed (default 3)")
    args = ap.parse_args()

    from clipscale.study import orchestrate
    from clipscale.study.spec import spec_from_dict

    results = pd.read_csv(args.study / "results.csv")
    curves = pd.read_csv(args.study / "curves.csv") if (args.study / "curves.csv").exists() else None
    tmp = Path(tempfile.mkdtemp(prefix="bench-study-fits-"))
    try:
        raw = json.loads((args.study / "study.json").read_text())["spec"]
        spec = spec_from_dict({**raw, "out": str(tmp)})
        keys = ["downstream_dataset", "task"]
        sub = results[(results["downstream_dataset"] == orchestrate.headline_dataset(spec))
                      & results["task"].isin(orchestrate.ZERO_SHOT_KINDS)]
        joint_s = _best(args.repeat, lambda: orchestrate.joint_law(sub, keys, spec.fit.n_boot))
        fit_s = _best(args.repeat, lambda: orchestrate.fit_study(spec, results))
        fits, backtest, note = orchestrate.fit_study(spec, results)
        path = fits.save(tmp / "fits.json")
        report_s = _best(args.repeat, lambda: orchestrate.make_report(spec, results, curves, path, backtest, []))
        joint = fits.select("joint")[0]
        print(f"study {args.study}: {len(results)} result rows, joint law on {len(sub)} zero-shot runs of "
              f"{orchestrate.headline_dataset(spec)} (N = per-sample GMACs, D = samples seen)")
        print(f"joint law + {spec.fit.n_boot} bootstrap resamples: {joint_s:.2f} s "
              f"({joint.fit.n_starts if joint.ok else 0} starts)")
        print(f"all of fit_study (laws per task and evaluation type, backtest, joint law): {fit_s:.2f} s")
        print(f"report from fits.json: {report_s:.2f} s")
        print("joint law:", joint.fit.formula() if joint.ok else f"not fitted: {joint.message}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _best(repeat: int, step) -> float:
    times = []
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return min(times)


if __name__ == "__main__":
    main()
