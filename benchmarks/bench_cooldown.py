"""Cool-down branches vs one cosine run per level: samples trained, wall seconds, and error.

For each model, trains (a) one cosine run per samples-seen level (the paper's `runs`) and (b) one
constant-lr trunk with a const-cooldown branch per level (clipscale.train.branches), on the
embedded data, and evaluates each final checkpoint on one embedded task (error = 1 - top-1, in
percentage points). Prints one row per model x level and the totals.

    nice -n 15 python benchmarks/bench_cooldown.py                      # ladder-xs, ladder-s x 3K,12K,48K
    nice -n 15 python benchmarks/bench_cooldown.py --levels 1024,4096,16384 --models ladder-xs
    # the demo's grid: its world, rungs, task, data size, warmup and six levels 2x apart
    nice -n 15 python benchmarks/bench_cooldown.py --world medium-v1 --models ladder-e-xs,ladder-e-s \
        --task embedded/objects --data-size 64000 --warmup-samples 2000 \
        --levels 8000,16000,32000,64000,128000,256000
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from clipscale.evaluate import evaluate
from clipscale.train import TrainSpec, train
from clipscale.train.branches import branch_dir, plan, train_branches


def _error_pct(model: str, checkpoint: Path, task: str, limit: int) -> float:
    row = evaluate(model, str(checkpoint), [task], limit=limit or None, progress=False).iloc[0]
    return 100 * (1 - row["acc1"])


def bench_model(model: str, levels: list[int], args, root: Path) -> list[dict]:
    """Rows: level, cosine error, branch error (percent), samples and wall seconds of each side."""
    base = dict(model=model, data_size=args.data_size, batch_size=args.batch_size, num_threads=args.threads,
                world=args.world)
    rows, t = [], time.perf_counter()
    cosine = {}
    for level in levels:
        cosine[level] = train(TrainSpec(samples_seen=level, **base), root / f"{model}_cos_{level}", progress=False)
    runs_wall = time.perf_counter() - t
    warmup = args.warmup_samples or round(0.1 * levels[0])
    spec = TrainSpec(samples_seen=levels[-1], schedule="const-cooldown", cooldown=args.cooldown,
                     cooldown_shape=args.shape, warmup_samples=warmup, **base)
    # Warmup (default): 10% of the smallest level, in samples, for the trunk (the cosine runs warm up
    # over 10% of their own steps); 10% of the largest would not end before the smallest branch cools down.
    t = time.perf_counter()
    train_branches(spec, levels, root / f"{model}_grid", progress=False)
    cool_wall = time.perf_counter() - t
    p = plan(spec, levels)
    for level in levels:
        ckpt = branch_dir(root / f"{model}_grid", level) / "checkpoints" / "epoch_1.pt"
        rows.append({"model": model, "level": level,
                     "cosine_err": _error_pct(model, cosine[level].final_checkpoint, args.task, args.limit),
                     "branch_err": _error_pct(model, ckpt, args.task, args.limit)})
    rows[0] |= {"runs_samples": sum(levels), "cool_samples": p.samples_trained,
                "runs_wall_s": runs_wall, "cool_wall_s": cool_wall}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ladder-xs,ladder-s")
    ap.add_argument("--levels", default="3000,12000,48000", help="samples seen, increasing")
    ap.add_argument("--data-size", type=int, default=4000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--cooldown", type=float, default=0.2)
    ap.add_argument("--shape", default="1-sqrt", choices=("linear", "1-sqrt"))
    ap.add_argument("--task", default="embedded/colour")
    ap.add_argument("--limit", type=int, default=0, help="test images per task; 0 = all")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup-samples", type=int, default=0, help="trunk warmup; 0 = 10%% of the smallest level")
    ap.add_argument("--world", default="full", help="embedded world (clipscale.data.worlds), e.g. medium-v1: "
                                                    "part of each run's spec, its checkpoints evaluated in it")
    args = ap.parse_args()
    levels = [int(v) for v in args.levels.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [r for m in args.models.split(",") for r in bench_model(m, levels, args, Path(tmp))]
    print(f"{'model':10} {'level':>7} {'cosine err %':>13} {'branch err %':>13} {'diff':>6}")
    for r in rows:
        print(f"{r['model']:10} {r['level']:7d} {r['cosine_err']:13.1f} {r['branch_err']:13.1f} "
              f"{r['branch_err'] - r['cosine_err']:+6.1f}")
    heads = [r for r in rows if "runs_samples" in r]
    runs_s, cool_s = sum(r["runs_samples"] for r in heads), sum(r["cool_samples"] for r in heads)
    runs_w, cool_w = sum(r["runs_wall_s"] for r in heads), sum(r["cool_wall_s"] for r in heads)
    mean_diff = sum(r["branch_err"] - r["cosine_err"] for r in rows) / len(rows)
    print(f"samples trained: runs {runs_s}, cooldown {cool_s} ({100 * (1 - cool_s / runs_s):.0f}% fewer)")
    print(f"wall seconds:    runs {runs_w:.0f}, cooldown {cool_w:.0f} ({100 * (1 - cool_w / runs_w):.0f}% less)")
    print(f"branch - cosine error, mean over {len(rows)} levels: {mean_diff:+.2f} points "
          f"(mean |diff| {sum(abs(r['branch_err'] - r['cosine_err']) for r in rows) / len(rows):.2f})")


if __name__ == "__main__":
    main()
