"""`clipscale design replay RESULTS.csv --out DIR`: score design strategies on a finished results table."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path


def _default(cls, name: str):
    """The dataclass's default of field `name` (the one home of every default)."""
    return {f.name: f.default for f in dataclasses.fields(cls)}[name]


def register(sub) -> None:
    """Add `clipscale design` to the top-level parser."""
    p = sub.add_parser("design", help="choose which runs to train next (adaptive designs); replay strategies",
                       description="Experimental design for scaling laws: which runs pin down the prediction "
                                   "at a target compute for the least cost.")
    s = p.add_subparsers(dest="design_command", metavar="COMMAND", required=True)
    r = s.add_parser(
        "replay", help="score the adaptive, random and full designs on a finished results table",
        description="Per group (downstream dataset x paper group): the pool is the runs at or below the group's "
                    "(1 - H) compute quantile, the targets the held-out runs above it on the group's compute "
                    "frontier. Each strategy sees only the results of the runs it chose, spends at most F of "
                    "the pool's cost, and predicts the targets with the frontier law fitted to its runs. "
                    "Writes DIR/replay.csv (one row per group x strategy), DIR/chosen.csv (one row per chosen "
                    "run) and DIR/decisions.jsonl (the adaptive design's rounds); prints the averages.",
        epilog="example (docs/design.md replays the paper's table):\n"
               "  clipscale design replay results.csv --out replay --budget-frac 0.4 --draws 5",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _replay_arguments(r)
    r.set_defaults(func=_replay)


def _replay_arguments(r: argparse.ArgumentParser) -> None:
    """The options of `design replay`; every default is ReplaySettings' or DesignSettings'."""
    from clipscale.design.replay import STRATEGIES, ReplaySettings
    from clipscale.design.strategy import DesignSettings

    r.add_argument("results", type=Path, help="results CSV (the paper's long schema)")
    r.add_argument("--out", type=Path, required=True, help="folder for replay.csv, chosen.csv, decisions.jsonl")
    r.add_argument("--where", action="append", metavar="'COL==VALUE'",
                   help="row filter, repeatable; operators == != < <= > >=")
    r.add_argument("--group-by", nargs="+", metavar="COL",
                   help="group columns (default: downstream_dataset group, as clipscale fit)")
    r.add_argument("--budget-frac", type=float, default=_default(ReplaySettings, "budget_frac"), metavar="F",
                   help="fraction of the pool's cost a strategy may spend, in (0, 1] (default %(default)s)")
    r.add_argument("--holdout-top-frac", type=float, default=_default(ReplaySettings, "holdout_top_frac"),
                   metavar="H", help="hold out the runs above each group's (1 - H) compute quantile "
                                     "(default %(default)s)")
    r.add_argument("--strategies", nargs="+", default=list(STRATEGIES), metavar="NAME",
                   help=f"strategies to replay: {', '.join(STRATEGIES)} (default: all)")
    r.add_argument("--draws", type=int, default=_default(ReplaySettings, "draws"),
                   help="random orders per group for the random strategy (default %(default)s)")
    r.add_argument("--seed", type=int, default=_default(ReplaySettings, "seed"),
                   help="seed of the random orders (default %(default)s)")
    r.add_argument("--method", default=_default(DesignSettings, "method"),
                   help="the frontier law's method (clipscale fit --method; default %(default)s)")
    r.add_argument("--batch", type=int, default=_default(DesignSettings, "batch"),
                   help="runs the adaptive design adds per round (default %(default)s)")
    r.add_argument("--tolerance", type=float, default=None, metavar="POINTS",
                   help="stop the adaptive design when the 90%% interval at every target is narrower than "
                        "this (error-%% points; default: spend the budget)")
    r.add_argument("--joint", action="store_true",
                   help="the study will also fit the joint law E(N, D): refuse pools with one model size")
    r.add_argument("--compute-col", default=_default(ReplaySettings, "compute_col"),
                   help="compute column, the law's x (default %(default)s: total GMACs)")
    r.add_argument("--cost-col", default=None, help="cost column the budget counts (default: the compute)")
    r.add_argument("--size-col", default=_default(ReplaySettings, "size_col"),
                   help="model size column (default %(default)s: GMACs per sample)")
    r.add_argument("--samples-col", default=_default(ReplaySettings, "samples_col"),
                   help="samples-seen column (default %(default)s)")
    r.add_argument("--data-col", default=None,
                   help="unique training samples column (default: from upstream_dataset for the paper's LAION sets)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")


def _replay(args: argparse.Namespace) -> int:
    from clipscale.design.replay import ReplaySettings
    from clipscale.design.strategy import DesignSettings
    from clipscale.errors import NotFoundError

    design = DesignSettings(method=args.method, batch=args.batch, tolerance_pct=args.tolerance, joint=args.joint)
    settings = ReplaySettings(budget_frac=args.budget_frac, holdout_top_frac=args.holdout_top_frac,
                              strategies=tuple(args.strategies), draws=args.draws, seed=args.seed,
                              compute_col=args.compute_col, cost_col=args.cost_col, size_col=args.size_col,
                              samples_col=args.samples_col, data_col=args.data_col, design=design)
    settings.validate()  # bad fractions, strategies, method: one line before reading anything
    if not args.results.is_file():
        raise NotFoundError(f"results table not found: {args.results}; pass the path of a CSV file")
    from clipscale.design.outputs import print_summary, write_replay
    from clipscale.design.replay import replay

    frame, chosen, decisions, skipped = replay(args.results, settings, where=args.where, group_by=args.group_by,
                                               progress=not args.quiet)
    paths = write_replay(args.out, frame, chosen, decisions)
    print_summary(frame, skipped, settings, out=sys.stdout)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
