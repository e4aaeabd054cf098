"""`clipscale backtest RESULTS.csv --target {runs,frontier}`: predict the held-out runs of a results
table and say how often the intervals hold them."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from clipscale.errors import UserInputError

_DESCRIPTION = """\
Fit each group of a results table on its cheaper runs, predict the held-out ones and say how often the
intervals hold them (coverage at 50/80/90/95%), how wide the 90% intervals are and how far the
predictions miss (median and p90, error-% points), per group and overall.

  --target frontier  the held-out runs on their group's compute frontier (error below every cheaper
                     run's), predicted by the frontier law (--method, default: the recommended one)
  --target runs      every held-out run, predicted by the per-run law from its model size (gmacs,
                     GMACs per sample), samples seen and unique samples (data_size, or the paper's
                     LAION sets) (--method: a per-run law, default: the recommended one)

examples:
  clipscale backtest results.csv --target frontier --holdout-top-frac 0.2
  clipscale backtest results.csv --target runs --where 'upstream_dataset!=CLIP-WIT' --out bt
"""
TARGETS = ("runs", "frontier")
#: the default split: the 20% most expensive runs of each group held out (issue 23's measurement)
DEFAULT_TOP_FRAC = 0.2


def register(sub) -> None:
    """Add `clipscale backtest` to the top-level parser."""
    from clipscale.laws.defaults import FRONTIER_METHOD, PER_RUN_LAW, SEED

    p = sub.add_parser("backtest", help="predict held-out runs and measure the intervals' coverage",
                       description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", metavar="RESULTS.csv", help="results CSV (the paper's long schema)")
    p.add_argument("--target", required=True, choices=TARGETS, help="what is predicted (see above)")
    p.add_argument("--method", metavar="M", help=f"the law: a frontier method (default {FRONTIER_METHOD}) or a "
                                                 f"per-run law (default {PER_RUN_LAW}; also joint)")
    p.add_argument("--where", action="append", metavar="'COL==VALUE'",
                   help="row filter, repeatable; operators == != < <= > >=")
    p.add_argument("--group-by", nargs="+", metavar="COL",
                   help="group columns (default: downstream_dataset, and the evaluation type where it varies)")
    h = p.add_mutually_exclusive_group()
    h.add_argument("--holdout-top-frac", type=float, metavar="F",
                   help=f"hold out the fraction F of each group's runs with the largest compute (default {DEFAULT_TOP_FRAC})")
    h.add_argument("--holdout-top", type=int, metavar="K", help="hold out each group's K largest-compute runs")
    h.add_argument("--holdout-above", type=float, metavar="C",
                   help="fit on the runs with compute <= C, hold out the rest (compute column's unit)")
    h.add_argument("--holdout-frontier-top", type=int, metavar="K",
                   help="judge each group's K largest-compute frontier runs, fit only the runs cheaper than the "
                        "cheapest of them (the demo's split; --target frontier)")
    p.add_argument("--compute-col", default="gmacs_total", help="total compute column (default: gmacs_total)")
    p.add_argument("--metric", help="metric column, a fraction (default: the paper's per-dataset metric)")
    p.add_argument("--n-boot", type=int, help="bootstrap resamples (default: the law's, laws.defaults)")
    p.add_argument("--seed", type=int, default=SEED, help="bootstrap seed (default %(default)s)")
    p.add_argument("--out", type=Path, metavar="DIR", help="write DIR/backtest.csv (one row per held-out run)")
    p.set_defaults(func=run)


def _check(args) -> None:
    """Checks that need no table (before pandas and the laws are imported)."""
    if not Path(args.results).is_file():
        raise UserInputError(f"results table not found: {args.results}; pass the path of a CSV file")
    f = args.holdout_top_frac
    if f is not None and not (math.isfinite(f) and 0 < f < 1):
        raise UserInputError(f"--holdout-top-frac must be a fraction in (0, 1), got {f}; e.g. 0.2")
    for flag, k in (("--holdout-top", args.holdout_top), ("--holdout-frontier-top", args.holdout_frontier_top)):
        if k is not None and k < 1:
            raise UserInputError(f"{flag} must be a whole number >= 1, got {k}")
    if args.n_boot is not None and args.n_boot < 10:
        raise UserInputError(f"--n-boot {args.n_boot} is too few resamples for a 90% interval; use e.g. 200")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise UserInputError(f"--out {args.out} is a file; pass a folder (backtest.csv is written inside)")


def run(args) -> int:
    _check(args)
    from clipscale.laws import perrun_laws
    from clipscale.laws.defaults import FRONTIER_METHOD, PER_RUN_LAW
    from clipscale.laws.methods import get

    method = args.method or (FRONTIER_METHOD if args.target == "frontier" else PER_RUN_LAW)
    get(method) if args.target == "frontier" else perrun_laws.get(method)  # unknown: one line, before reading
    from clipscale._io import atomic_write_text
    from clipscale.laws.heldout import backtest_heldout, levels_label
    from clipscale.laws.split import Holdout
    from clipscale.laws.table import read_table

    holdout = Holdout.of(args.holdout_top_frac, args.holdout_top, args.holdout_above, args.holdout_frontier_top) \
        or Holdout(top_frac=DEFAULT_TOP_FRAC)
    with _bar(args.target) as progress:
        held = backtest_heldout(read_table(args.results), target=args.target, holdout=holdout, method=method,
                                where=args.where, group_by=args.group_by, compute_col=args.compute_col,
                                metric=args.metric, n_boot=args.n_boot, seed=args.seed, progress=progress)
    for line in held.skipped:
        print(f"clipscale: note: not backtested: {line}", file=sys.stderr)
    print(text(held, method, holdout.describe(), levels_label()))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = atomic_write_text(args.out / "backtest.csv", held.csv_frame().to_csv(index=False))
        print(f"clipscale: wrote {path} ({len(held.rows)} held-out runs)", file=sys.stderr)
    return 0


class _bar:
    """A tqdm bar on stderr fed by backtest_heldout's progress(done, total) callback."""

    def __init__(self, target: str):
        self.desc, self.bar = f"backtest {target}", None

    def __enter__(self):
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit="fit", file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def text(held, method: str, split: str, levels: str) -> str:
    """The summary as text: what was predicted, then one row per group and 'all' (coverage as
    percent of held-out runs inside each nominal interval; width and misses in error-% points)."""
    import pandas as pd

    s = held.summary()
    cov = [c for c in s.columns if c.startswith("inside_")]
    shown = s.rename(columns={**{c: f"in{c[len('inside_'):]}%" for c in cov}, "width90_median": "width90",
                              "miss_median": "miss_med", "miss_p90": "miss_p90"})
    for c in cov:
        shown[f"in{c[len('inside_'):]}%"] = (100 * s[c]).round(1)
    what = "frontier runs, frontier law" if held.target == "frontier" else "runs, per-run law"
    head = (f"backtest: held-out {what} {method}; {split}; coverage at {levels} (% of held-out runs inside), "
            "width90 = median 90% interval width, misses in error-% points")
    all_row = s.iloc[-1]
    verdict = (f"overall: {100 * all_row['inside_90']:.1f}% of {int(all_row['n'])} held-out runs inside their 90% "
               f"intervals (median width {all_row['width90_median']:.2f} points); median miss "
               f"{all_row['miss_median']:.2f}, p90 {all_row['miss_p90']:.2f} points")
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.float_format", "{:.2f}".format):
        return "\n".join([head, shown.to_string(index=False), verdict])
