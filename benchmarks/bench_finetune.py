"""Fine-tuning on the embedded world: fine-tuned < linear-probe < zero-shot error, and a fitted law.

Pre-trained models come from a finished study (`--study DIR`: every study point, read in place,
never written) or are pre-trained here (ladder-xs and ladder-s at a few sample counts). Each is
scored on TASK (default digits: real scans, never in the embedded pre-training data) with the same
limited downstream data for all three families: zero-shot (the head before training), a linear probe
on the frozen pre-trained features of the first TRAIN_IMAGES training images, and end-to-end
fine-tuning on those images (clipscale.evaluate.transfer). Then error = 1 - top-1 (a fraction) of each
family is fitted against pre-training compute (total GMACs) with clipscale.laws, with a backtest:
fit on all but the HOLDOUT largest-compute points, predict those (miss in error-percentage points).

    nice -n 10 python benchmarks/bench_finetune.py --study /work/exp/d3 --out /tmp/ft   # LP-FT (the default)
    nice -n 10 python benchmarks/bench_finetune.py --study /work/exp/d3 --head-init zeroshot
    nice -n 10 python benchmarks/bench_finetune.py --quick              # pre-trains ladder-xs 1K, 2K, 4K
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

GRID = (("ladder-xs", 2048), ("ladder-xs", 8192), ("ladder-s", 2048), ("ladder-s", 8192))
QUICK = (("ladder-xs", 1024), ("ladder-xs", 2048), ("ladder-xs", 4096))
# Few fine-tuning images, few epochs: with the whole train split and long training every model
# reaches about the same error, whatever its pre-training (the law then fits noise).
TASK = "digits"
FT = dict(train_images=300, epochs=10, lr=1e-3, batch_size=16)
FAMILIES = {"finetune": "acc1", "linear_probe": "linear_probe_acc1", "zeroshot": "zeroshot_acc1"}


@dataclass(frozen=True)
class Point:
    """One pre-trained model: its name, architecture, checkpoint and row facts (samples_seen...)."""

    name: str
    arch: str
    checkpoint: Path
    meta: dict


def study_points(study: Path, models: set[str] | None = None) -> list[Point]:
    """Every study point of a finished study folder: each level of a run with cool-down branches
    (runs/<run>/branches.json), else the last epoch of the run."""
    from clipscale.evaluate.checkpoints import epoch_files, run_arch, run_meta, run_spec

    points = []
    for run in sorted(p for p in (study / "runs").iterdir() if p.is_dir()):
        index = run / "branches.json"
        if index.exists():
            levels = [(run / b["folder"], run / b["study_point"], b["level"])
                      for b in json.loads(index.read_text())["branches"]]
        else:
            levels = [(run, epoch_files(run)[-1][1], None)]
        for folder, checkpoint, level in levels:
            spec = run_spec(folder)
            arch = run_arch(folder, spec)
            if models and arch not in models:
                continue
            meta = {**run_meta(folder, spec), "name": f"{run.name}/{folder.name}"}
            if level is not None:
                meta["samples_seen"] = level
            points.append(Point(meta["name"], arch, checkpoint, meta))
    if not points:
        raise SystemExit(f"{study}/runs holds no finished study point{' of ' + ', '.join(models) if models else ''}")
    return points


def pretrain_points(root: Path, grid, world: str = "full") -> list[Point]:
    """Pre-train each (arch, samples) of `grid` on the embedded data (finished runs are reused)."""
    from clipscale.train import TrainSpec, train

    points = []
    for arch, samples in grid:
        run_dir = root / f"{arch}-{samples}"
        train(TrainSpec(arch, data_size=samples, samples_seen=samples, epochs=1, num_threads=2, world=world), run_dir)
        ck = sorted(run_dir.glob("checkpoints/epoch_*.pt"))[-1]
        points.append(Point(run_dir.name, arch, ck, {"name": run_dir.name, "upstream_dataset": "embedded"}))
    return points


def measure(points: list[Point], root: Path, task: str, recipe) -> pd.DataFrame:
    """One results row per point (eval_type finetune, with zeroshot_acc1 and linear_probe_acc1)."""
    from clipscale.evaluate.transfer import finetune_checkpoint, write_results

    tag = "-".join(f"{k}{v:g}" if isinstance(v, float) else f"{k}{v}" for k, v in sorted(asdict(recipe).items())
                   if v is not None)
    rows = []
    for i, p in enumerate(points, 1):
        out = root / "ft" / re.sub(r"[^\w.-]+", "_", p.name) / task.replace("/", "-") / tag
        t0 = time.time()
        if (out / "results.csv").exists():  # finished fine-tunings are reused (killed ones resume)
            df = pd.read_csv(out / "results.csv")
        else:
            df = finetune_checkpoint(p.arch, p.checkpoint, task, out, recipe, meta=p.meta, probe=True)
            write_results(df, out)
        rows.append(df)
        print(f"[{i}/{len(points)}] {p.name}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return pd.concat(rows, ignore_index=True)


def errors(df: pd.DataFrame) -> pd.DataFrame:
    """Per point: pre-training compute and the error (fraction) of each family, by compute."""
    out = df[["name", "arch", "samples_seen", "gmacs_total", "train_images", "n_images"]].copy()
    for family, col in FAMILIES.items():
        out[family] = 1.0 - df[col]
    return out.sort_values("gmacs_total", ignore_index=True)


def laws_table(err: pd.DataFrame, method: str, holdout: int, n_boot: int = 200) -> pd.DataFrame:
    """One law per family: E = coef * C^alpha (C = total GMACs) and its backtest on the `holdout` top points."""
    from clipscale import laws
    from clipscale.errors import ClipscaleError

    rows = []
    c = err["gmacs_total"].to_numpy(float)
    for family in FAMILIES:
        e = err[family].to_numpy(float)
        row = {"family": family, "method": method, "n_points": len(e)}
        try:
            res = laws.fit(c, e, method, n_boot=n_boot, seed=0)
            lo, hi = res.ci.get("alpha", (float("nan"), float("nan")))
            row.update(alpha=res.alpha, alpha_lo90=lo, alpha_hi90=hi, r2=res.r2, n_fit_points=res.n_fit_points)
            bt = laws.backtest(c, e, method, holdout=laws.Holdout(top=holdout))
            row.update(backtest_alpha=bt.fit.alpha, backtest_mae_pct=bt.mae_pct, backtest_n_heldout=bt.n_heldout)
        except ClipscaleError as exc:
            row["message"] = str(exc)
        rows.append(row)
    table = pd.DataFrame(rows)
    return table[[c for c in table.columns if c != "message"] + (["message"] if "message" in table else [])]


def report(err: pd.DataFrame, tables: list[pd.DataFrame]) -> None:
    """Print the error table, the ordering count and the laws."""
    print(err.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    ft_probe = err["finetune"] < err["linear_probe"]
    probe_zs = err["linear_probe"] < err["zeroshot"]
    print(f"fine-tuned < linear probe: {int(ft_probe.sum())}/{len(err)}; linear probe < zero-shot: "
          f"{int(probe_zs.sum())}/{len(err)}; both: {int((ft_probe & probe_zs).sum())}/{len(err)}")
    for table in tables:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", type=Path, default=None, help="a finished study folder: fine-tune its study points")
    p.add_argument("--models", default="", help="with --study: only these architectures (comma-separated)")
    p.add_argument("--world", default="full", help="without --study: the embedded world to pre-train in "
                                                   "(a study's runs record their own)")
    p.add_argument("--out", default=None, help="keep runs, fine-tunings and the tables here (default: a temp folder)")
    p.add_argument("--quick", action="store_true", help="without --study: pre-train ladder-xs at 1K, 2K, 4K only")
    p.add_argument("--task", default=TASK, help="classification task with a train split (default: %(default)s)")
    p.add_argument("--train-images", type=int, default=FT["train_images"], help="fine-tuning images (default: %(default)s)")
    p.add_argument("--ft-epochs", type=int, default=FT["epochs"], help="fine-tuning epochs (default: %(default)s)")
    p.add_argument("--ft-lr", type=float, default=FT["lr"], help="fine-tuning peak lr (default: %(default)s)")
    p.add_argument("--head-init", default="probe", help="probe (LP-FT) or zeroshot (default: %(default)s)")
    p.add_argument("--points", default="", help="with --study: only points whose name matches this regex")
    p.add_argument("--method", default="frontier", help="law-fitting method (clipscale.laws.METHODS)")
    p.add_argument("--holdout", type=int, default=3, help="largest-compute points held out by the backtest")
    args = p.parse_args(argv)
    from clipscale.evaluate.finetune import Recipe

    recipe = Recipe(train_images=args.train_images, epochs=args.ft_epochs, lr=args.ft_lr,
                    batch_size=FT["batch_size"], head_init=args.head_init)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        models = {m for m in args.models.split(",") if m}
        points = (study_points(args.study, models) if args.study
                  else pretrain_points(root, QUICK if args.quick else GRID, args.world))
        points = [p for p in points if re.search(args.points, p.name)]
        df = measure(points, root, args.task, recipe)
        err = errors(df)
        tables = [laws_table(err, m, args.holdout) for m in dict.fromkeys([args.method, "logodds"])]
        if args.out:
            df.to_csv(root / "results.csv", index=False)
            pd.concat(tables, ignore_index=True).to_csv(root / "laws.csv", index=False)
    print(f"task {args.task}, recipe {json.dumps(asdict(recipe), sort_keys=True)}")
    report(err, tables)
    print(f"wall time {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
