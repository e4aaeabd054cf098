"""Fine-tuning on the embedded world: fine-tuned < linear-probe < zero-shot error, and a fitted law.

Pre-trains ladder-xs and ladder-s at a few sample counts (clipscale.train), evaluates each on digits
(a task the models never saw) zero-shot, by a linear probe on frozen features, and by end-to-end
fine-tuning (clipscale.evaluate.transfer), then fits fine-tuned error vs pre-training compute with
clipscale.laws.fit_table (the paper's method, largest run held out as the backtest).
Run: nice -n 10 python benchmarks/bench_finetune.py [--out DIR]. Errors are fractions in [0, 1].
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

GRID = (("ladder-xs", 2048), ("ladder-xs", 8192), ("ladder-s", 2048), ("ladder-s", 8192))
QUICK = (("ladder-xs", 1024), ("ladder-xs", 2048), ("ladder-xs", 4096))  # --quick: about 4 min niced
TASK, LIMIT = "digits", 200
FT = dict(epochs=6, lr=1e-3, batch_size=16, limit=LIMIT)


def run(root: Path, grid=GRID) -> pd.DataFrame:
    """One row per (model, family): error of zero-shot, linear probe and fine-tuning on digits."""
    from clipscale import evaluate as ev
    from clipscale.evaluate.finetune import Recipe
    from clipscale.evaluate.transfer import finetune_checkpoint
    from clipscale.train import TrainSpec, train

    rows = []
    for arch, samples in grid:
        run_dir = root / f"{arch}-{samples}"
        train(TrainSpec(arch, data_size=samples, samples_seen=samples, epochs=1, num_threads=2), run_dir)
        ck = sorted(run_dir.glob("checkpoints/epoch_*.pt"))[-1]
        meta = {"name": run_dir.name, "upstream_dataset": "embedded"}
        zs = ev.evaluate(arch, ck, [TASK, f"linear_probe/{TASK}"], limit=LIMIT, meta=meta, progress=False)
        ft = finetune_checkpoint(arch, ck, TASK, run_dir / "ft", Recipe(**FT), meta=meta, progress=False)
        rows.append(pd.concat([zs, ft], ignore_index=True))
    return pd.concat(rows, ignore_index=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="keep the runs and results.csv here (default: a temp folder)")
    p.add_argument("--quick", action="store_true", help="ladder-xs at 1K, 2K, 4K samples only")
    args = p.parse_args(argv)
    from clipscale.laws import fit_table

    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        df = run(root, QUICK if args.quick else GRID)
        if args.out:
            df.to_csv(root / "results.csv", index=False)
    df["error"] = 1.0 - df["acc1"]
    table = df.pivot_table(index=["name", "gmacs_total"], columns="task", values="error").reset_index()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ordered = ((table["finetune"] < table["linear_probe"]) & (table["linear_probe"] < table["zeroshot_classification"]))
    print(f"fine-tuned < linear-probe < zero-shot error: {int(ordered.sum())}/{len(table)} models")
    for family in ("finetune", "linear_probe", "zeroshot_classification"):
        fam = df[df["task"] == family]
        law = fit_table(fam, group_by=("task",), holdout_top=1, n_boot=100, errors="row")
        cols = [c for c in ("task", "status", "A", "B", "alpha", "backtest_mae_pct", "message") if c in law.columns]
        print(law[cols].to_string(index=False))
    print(f"wall time {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
