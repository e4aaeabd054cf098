"""`clipscale compare`: which of two recipes wins at scale, where their laws cross, and how sure that is."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from clipscale.errors import UserInputError

_DESCRIPTION = """\
Compare two recipes' scaling laws on every downstream dataset: whose error falls faster with compute
(steeper, with its probability p_steeper), the probability that A's error is below B's at each --at
compute, at the largest compute either recipe trained and at 10x that, and the compute where the laws
cross with its 90% interval (or why there is none). Probabilities come from the two laws' draws,
made independently per recipe: the bootstrap of its runs, or a parametric bootstrap for a recipe with
few runs (docs/compare.md).

  clipscale compare RESULTS.csv --by group --a openai --b openclip
  clipscale compare STUDY_A STUDY_B            (two study folders of one task)
"""


def register(sub) -> None:
    """Add `clipscale compare` to the top-level parser."""
    from clipscale.laws.compare import DEFAULT_METHOD, N_BOOT
    from clipscale.laws.methods import METHODS

    p = sub.add_parser("compare", help="which of two recipes wins at scale: steeper law, crossover compute, "
                                       "how sure", description=_DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="RESULTS.csv | STUDY",
                   help="one results table (with --by, --a, --b), or two study folders")
    p.add_argument("--by", metavar="COL", help="the column that names the recipe (e.g. group, upstream_dataset, "
                                               "lr); 'group' is derived from upstream_dataset as `fit` does")
    p.add_argument("--a", metavar="VALUE", help="recipe A: the rows whose --by column holds VALUE")
    p.add_argument("--b", metavar="VALUE", help="recipe B")
    p.add_argument("--where", action="append", metavar="'COL==VALUE'",
                   help="row filter, repeatable; operators == != < <= > >=")
    p.add_argument("--group-by", nargs="+", metavar="COL",
                   help="compare within these groups (default: downstream_dataset, and the evaluation type "
                        "when a dataset mixes several)")
    p.add_argument("--method", choices=sorted(METHODS),
                   help=f"the law of each recipe (default: {DEFAULT_METHOD}; for two studies, their [fit] "
                        "method when they share one)")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="method option, repeatable")
    p.add_argument("--at", nargs="+", default=[], metavar="C",
                   help="also give P(A better) at these computes (the compute column's unit, total GMACs by default)")
    p.add_argument("--compute-col", default="gmacs_total", help="compute column (default: gmacs_total)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--metric", help="metric column, a fraction (default: the paper's per-dataset metric)")
    g.add_argument("--error-col", help="column that already holds the error as a fraction")
    p.add_argument("--wide", action="store_true", default=None,
                   help="the table is wide (one column per downstream dataset); detected when there is no "
                        "downstream_dataset column")
    p.add_argument("--value-cols", nargs="+", metavar="COL", help="wide tables: the per-dataset metric columns")
    p.add_argument("--n-boot", type=int, default=None, help=f"draws per law (default {N_BOOT})")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per dataset")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="also write DIR/compare.json, DIR/compare.csv, DIR/compare.html and DIR/figures/compare_*.png")
    p.set_defaults(func=run)


def _check(args) -> None:
    """Argument checks that need no table (before pandas and the laws are imported)."""
    for v in args.at:
        try:
            ok = math.isfinite(float(v)) and float(v) > 0
        except ValueError:
            ok = False
        if not ok:
            raise UserInputError(f"--at {v!r} is not a positive number; give a compute in the compute column's "
                                 "unit, e.g. --at 1e12 (total GMACs)")
    if args.n_boot is not None and args.n_boot < 10:
        raise UserInputError(f"--n-boot {args.n_boot} is too few draws for a probability; use e.g. 1000")
    table_flags = [f for f, v in (("--by", args.by), ("--a", args.a), ("--b", args.b)) if v is not None]
    if len(args.inputs) == 2:
        if table_flags:
            raise UserInputError(f"{table_flags[0]} is for one results table; two study folders are compared "
                                 "as they are (drop --by, --a, --b)")
        return
    if len(args.inputs) != 1:
        raise UserInputError(f"give one results CSV or two study folders, got {len(args.inputs)} paths")
    missing = [f for f in ("--by", "--a", "--b") if f not in table_flags]
    if missing:
        raise UserInputError(f"comparing within one table needs --by COL --a VALUE --b VALUE (missing "
                             f"{', '.join(missing)}); e.g. --by group --a openai --b openclip")


def run(args) -> int:
    _check(args)
    from clipscale.cli.fit import parse_opts
    from clipscale.laws import compare as cmp
    from clipscale.laws.recipes import compare_recipes

    opts = parse_opts(args.opt)
    by, a, b, method, table = args.by, args.a, args.b, args.method, None
    if len(args.inputs) == 2:
        from clipscale.study.pair import RECIPE_COL, load_pair

        pair = load_pair(*args.inputs)
        by, (a, b), table = RECIPE_COL, pair.names, pair.table
        method = method or pair.method
    else:
        from clipscale.laws.table import read_table

        table = read_table(args.inputs[0])
    method = method or cmp.DEFAULT_METHOD
    found, skipped = compare_recipes(
        table, by, a, b, method=method, at=args.at, where=args.where, group_by=args.group_by,
        compute_col=args.compute_col, metric=args.metric, error_col=args.error_col, wide=args.wide,
        value_cols=args.value_cols, n_boot=args.n_boot or cmp.N_BOOT, seed=args.seed, opts=opts)
    for line in skipped:
        print(f"clipscale: note: not compared: {line}", file=sys.stderr)
    if args.out:
        from clipscale.report import write_comparison

        paths = write_comparison(found, args.out, title=f"{a} vs {b}")
        print(f"clipscale: wrote {', '.join(str(p) for p in paths[:3])} and {len(paths) - 3} figure(s)",
              file=sys.stderr)
    if args.json:
        print(json.dumps([c.to_dict() for c in found], indent=2, allow_nan=False))
    else:
        print("\n\n".join(text_block(c) for c in found))
    return 0


def text_block(c) -> str:
    """One dataset's comparison as text: the verdict first, then laws, P(A better) and the crossover."""
    from clipscale.laws.compare import fmt_compute

    title = ", ".join(map(str, c.group.values())) or "all rows"
    lines = [f"== {title}", c.verdict]
    for key, name in zip(("a", "b"), c.names):
        law = c.to_dict()["laws"][key]
        lines.append(f"  {name}: {law['formula']}  alpha {law['alpha']:.3f} [{c.level:.0%}: {law['alpha_lo']:.3f}, "
                     f"{law['alpha_hi']:.3f}]; {law['n_runs']} runs, {law['n_fit_points']} fitted; "
                     f"draws: {law['draws']}")
    steeper = c.names[0] if c.steeper == "a" else c.names[1]
    lines.append(f"  steeper: {steeper} (P = {c.p_steeper:.2f}); method {c.a.method}")
    at = ", ".join(f"{r['p_a_better']:.2f} at {fmt_compute(r['compute'])} ({r['where']})" for r in c.at)
    lines.append(f"  P({c.names[0]} better): {at}")
    x = c.crossover
    lines.append(f"  crossover: {fmt_compute(x.compute)} {c.unit} ({c.level:.0%}: {fmt_compute(x.lo)} to "
                 f"{fmt_compute(x.hi)})" if x.to_dict() else f"  crossover: none: {x.reason}")
    return "\n".join(lines)
