"""Benchmark: `clipscale demo --preset adaptive` against the default demo, judged on larger runs (issue 24).

Both presets answer one question (a law on embedded/objects in the medium-v1 world, 10-minute budget):
the default trains a fixed grid sized to the machine, the adaptive one chooses its runs round by
round. Neither trains the reference runs: `reference` trains them once, outside the demos' budget,
into a cached folder (benchmarks/adaptive_reference.toml: ladder-e-s and ladder-e-m cool-down
branches at 2,852 to 5,437 total GMACs). The targets are the reference's study points on its
compute frontier (error below every cheaper reference run's: what a frontier law predicts). Each
demo is scored from its own fit (its fits.json headline law): the prediction and 90% prediction
interval at each target, the miss |predicted - actual| (error-% points), inside or not, and what the
demo spent (total GMACs trained, trunks included; wall seconds of the `clipscale demo` process).

    python benchmarks/bench_adaptive_demo.py reference [--dir /work/exp/adaptive-ref]
    python benchmarks/bench_adaptive_demo.py run [--out /work/exp/adaptive-demos] [--repeats 3]
    python benchmarks/bench_adaptive_demo.py score [--ref DIR] [--demos DIR] [--csv FILE]

`reference` and `run` raise their processes' scheduling priority (`echo -20 > /proc/self/autogroup`,
root only; otherwise they run as they are) and run the demos one after the other, the presets
interleaved (default 1, adaptive 1, default 2, ...) so a change in the machine's load hits both
alike; a folder that holds a finished demo is kept, not rerun. Not a test: about 20 minutes for the
reference and 10 per demo. Timings on the shared 2-core machine depend on the others' work.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SPEC = ROOT / "benchmarks" / "adaptive_reference.toml"
WORLD = "medium-v1"  # the presets' world (clipscale.study.demo.PRESETS)
PRESETS = ("default", "adaptive")
LEVEL = 0.9
TIMES = "bench_wall.json"  # in each demo folder: the wall seconds of its `clipscale demo` process


def _boosted(argv: list[str]) -> list[str]:
    """argv run in a shell whose autogroup gets the highest priority (root), so other users' work
    distorts the timing less; unchanged in effect where that is not allowed. BENCH_AUTOGROUP_NICE
    sets another level (0: no boost, when the machine's other work must not be starved)."""
    cmd = " ".join(f"'{a}'" for a in argv)
    nice = int(os.environ.get("BENCH_AUTOGROUP_NICE", "-20"))  # 0: share the machine as it is
    return ["bash", "-c", f"echo {nice} > /proc/self/autogroup 2>/dev/null; exec {cmd}"]


def _python() -> list[str]:
    return [sys.executable, "-m", "clipscale"]


def reference(folder: Path) -> None:
    """Train the reference study into `folder` (skipped when its summary.json exists)."""
    if (folder / "summary.json").exists():
        print(f"reference: {folder} is done; remove it to retrain")
        return
    env_world = f"CLIPSCALE_WORLD={WORLD}"
    argv = ["env", env_world, *_python(), "study", "run", str(REFERENCE_SPEC), "--out", str(folder), "--quiet"]
    t0 = time.time()
    subprocess.run(_boosted(argv), check=True)
    print(f"reference: trained in {time.time() - t0:.0f} s into {folder}")


def run_demos(out: Path, repeats: int) -> None:
    """`clipscale demo --preset P` for each repeat and preset, one after the other, into out/P-i."""
    for i in range(1, repeats + 1):
        for preset in PRESETS:
            folder = out / f"{preset}-{i}"
            if (folder / TIMES).exists():
                print(f"{folder}: done before, kept")
                continue
            t0 = time.time()
            proc = subprocess.run(_boosted([*_python(), "demo", "--preset", preset, "--out", str(folder), "--quiet"]),
                                  capture_output=True, text=True)
            wall = time.time() - t0
            (folder / "demo.log").write_text(proc.stdout + proc.stderr)
            (folder / TIMES).write_text(json.dumps({"wall_s": round(wall, 1), "returncode": proc.returncode}))
            print(f"{folder}: exit {proc.returncode}, {wall:.0f} s")


def targets(ref: Path, dataset: str) -> pd.DataFrame:
    """The reference's study points of `dataset` on its compute frontier: compute (total GMACs), error."""
    from clipscale.schema import default_metric

    rows = pd.read_csv(ref / "results.csv")
    rows = rows[(rows["downstream_dataset"] == dataset) & rows["is_level"].astype(bool)].sort_values("gmacs_total")
    rows = rows.assign(error=1.0 - rows[default_metric(dataset)].astype(float))
    best, keep = np.inf, []
    for e in rows["error"]:
        keep.append(e < best)
        best = min(best, e)
    return rows.assign(on_frontier=keep)[["arch", "samples_seen", "gmacs_total", "error", "on_frontier"]]


def spent(folder: Path) -> float:
    """Total GMACs trained (forward GMACs per sample x samples trained, every trunk and branch) over
    the run folders the study actually made (an elastic or adaptive run's hash is not the one a
    re-read spec gives, so the folders are counted, not the spec's runs)."""
    from clipscale.compute import gmacs_per_sample
    from clipscale.study.progress import samples_trained
    from clipscale.train.branches import trunk_dir

    total = 0.0
    for run in sorted(p for p in (folder / "runs").iterdir() if p.is_dir()):
        spec_file = (trunk_dir(run) if trunk_dir(run).is_dir() else run) / "spec.json"
        model = json.loads(spec_file.read_text())["model"]
        total += float(gmacs_per_sample(model)) * samples_trained(run)
    return total


def score_demo(folder: Path, ref: Path) -> list[dict]:
    """One row per target: the demo's own headline law at the target against the reference's error."""
    from clipscale.laws import Fits

    head = next(e for e in Fits.load(folder / "fits.json").entries if e.extra.get("headline"))
    law = head.fit
    t = targets(ref, head.group["downstream_dataset"])
    t = t[t["on_frontier"]]
    c = t["gmacs_total"].to_numpy(float)
    pred = 100 * np.asarray(law.predict(c), float)
    lo, hi = (100 * np.asarray(v, float) for v in law.predict_interval(c, LEVEL, kind="prediction"))
    actual = 100 * t["error"].to_numpy(float)
    results = pd.read_csv(folder / "results.csv")
    results = results[results["downstream_dataset"] == head.group["downstream_dataset"]]
    top, points, gmacs = float(results["gmacs_total"].max()), len(results), spent(folder)
    wall = json.loads((folder / TIMES).read_text())["wall_s"] if (folder / TIMES).exists() else float("nan")
    summary = json.loads((folder / "summary.json").read_text())
    return [{"demo": folder.name, "preset": folder.name.rsplit("-", 1)[0], "law": law.method,
             "target": f"{a} {int(s):,}", "target_gmacs": ci, "actual_pct": y, "predicted_pct": p, "lo_pct": a_,
             "hi_pct": b_, "miss_pct": abs(p - y), "inside_90": bool(a_ <= y <= b_), "width_pct": b_ - a_,
             "extrapolation": bool(ci > top), "top_gmacs": top, "points": points, "gmacs_trained": gmacs,
             "wall_s": wall, "law_points": summary.get("law", {}).get("n_fit_points")}
            for a, s, ci, y, p, a_, b_ in zip(t["arch"], t["samples_seen"], c, actual, pred, lo, hi)]


def score(ref: Path, demos: Path, csv: Path | None) -> pd.DataFrame:
    """Score every finished demo folder under `demos`; print the per-demo and per-preset tables."""
    rows = []
    for folder in sorted(p for p in demos.iterdir() if (p / "fits.json").exists()):
        rows += score_demo(folder, ref)
    frame = pd.DataFrame(rows)
    if csv is not None:
        frame.to_csv(csv, index=False)
    print(targets(ref, "embedded/objects").to_string(index=False))
    per = frame.groupby("demo").agg(preset=("preset", "first"), law=("law", "first"), points=("points", "first"),
                                    top_gmacs=("top_gmacs", "first"), gmacs_trained=("gmacs_trained", "first"),
                                    wall_s=("wall_s", "first"), median_miss=("miss_pct", "median"),
                                    inside=("inside_90", "sum"), n=("inside_90", "size"),
                                    median_width=("width_pct", "median"))
    print(frame[["demo", "target", "actual_pct", "predicted_pct", "lo_pct", "hi_pct", "miss_pct", "inside_90"]]
          .to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(per.to_string(float_format=lambda v: f"{v:.4g}"))
    print(frame.groupby("preset").agg(median_miss=("miss_pct", "median"), mean_miss=("miss_pct", "mean"),
                                      inside=("inside_90", "sum"), n=("inside_90", "size"),
                                      median_width=("width_pct", "median"), gmacs=("gmacs_trained", "mean"),
                                      wall_s=("wall_s", "mean")).to_string(float_format=lambda v: f"{v:.4g}"))
    return frame


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=("reference", "run", "score"))
    p.add_argument("--dir", "--ref", dest="ref", type=Path, default=Path("/work/exp/adaptive-ref"))
    p.add_argument("--out", "--demos", dest="demos", type=Path, default=Path("/work/exp/adaptive-demos"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--csv", type=Path)
    args = p.parse_args()
    if args.step == "reference":
        reference(args.ref)
    elif args.step == "run":
        args.demos.mkdir(parents=True, exist_ok=True)
        run_demos(args.demos, args.repeats)
    else:
        score(args.ref, args.demos, args.csv)


if __name__ == "__main__":
    main()
