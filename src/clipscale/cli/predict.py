"""`clipscale predict FITS.json`: the error a fitted law predicts, with its interval and how far it
extrapolates: the best error at a compute (a frontier law), or one run's error (a per-run law)."""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from clipscale.errors import UserInputError

_DESCRIPTION = """\
Predict from a fits.json (written by `clipscale fit ... --out fits.csv`, or --save-fits):

  --compute C ...                  the best error reachable at each compute C (the frontier law of
                                   each group; C in the fits' compute column unit, total GMACs by default)
  --size N --samples D [--unique U]  the error of one run: model size N (GMACs per sample, or the unit
                                   the law was fitted in), D samples seen, U unique samples of its
                                   training set (a per-run law: `clipscale fit --method perrun`, or joint)

Each prediction comes with its interval (--level, default 90%) and extrapolation_decades: how many
decades of compute it lies beyond the fitted runs (0 inside them).

examples (fits.json from `clipscale fit results.csv --out fits.csv`, perrun.json from
`clipscale fit results.csv --method perrun --save-fits perrun.json`):
  clipscale predict fits.json --compute 2e3 1e4 --where 'downstream_dataset==embedded/objects'
  clipscale predict perrun.json --size 0.01 --samples 1e6 --json
  (the paper's ViT-H/14 on LAION-2B at 34B samples: --size 190.97 --samples 3.4e10 --unique 2.32e9)
"""


def register(sub) -> None:
    """Add `clipscale predict` to the top-level parser."""
    p = sub.add_parser("predict", help="the error a fitted law predicts at a compute or for a run, with its interval",
                       description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fits", metavar="FITS.json", help="fits file written by `clipscale fit` (fits.json)")
    p.add_argument("--compute", nargs="+", metavar="C", help="computes to predict the best error at")
    p.add_argument("--size", metavar="N", help="model size of the run (GMACs per sample for the per-run law)")
    p.add_argument("--samples", metavar="D", help="samples seen by the run")
    p.add_argument("--unique", metavar="U", help="unique samples of the run's training set (a law that knows them)")
    p.add_argument("--where", action="append", metavar="'COL==VALUE'",
                   help="keep the fits whose group matches, repeatable; operators == != < <= > >=")
    p.add_argument("--level", default="0.9", metavar="L", help="interval level, a fraction (default 0.9)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per prediction")
    p.set_defaults(func=run)


def _number(flag: str, raw: str, *, fraction: bool = False) -> float:
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or v <= 0 or (fraction and v >= 1):
        want = "a fraction in (0, 1), e.g. 0.9" if fraction else "a number > 0, e.g. 1e12"
        raise UserInputError(f"{flag} {raw!r} is not {want}")
    return v


def _check(args) -> dict:
    """The numbers of the request, checked before the fits are read."""
    if not Path(args.fits).is_file():
        raise UserInputError(f"fits file not found: {args.fits}; write one with `clipscale fit RESULTS.csv --out "
                             "fits.csv` (fits.json is written beside it)")
    run_flags = [f for f, v in (("--size", args.size), ("--samples", args.samples), ("--unique", args.unique)) if v]
    if bool(args.compute) == bool(run_flags):
        raise UserInputError("give --compute C (the best error at a compute) or --size N --samples D [--unique U] "
                             "(one run's error), one of the two")
    out = {"level": _number("--level", args.level, fraction=True)}
    if args.compute:
        out["compute"] = [_number("--compute", c) for c in args.compute]
        return out
    if not (args.size and args.samples):
        raise UserInputError("a run's prediction needs --size N and --samples D (and --unique U for a law that "
                             "knows unique data)")
    out.update(size=_number("--size", args.size), samples=_number("--samples", args.samples),
               unique=_number("--unique", args.unique) if args.unique else None)
    return out


def run(args) -> int:
    asked = _check(args)
    from clipscale.laws.collection import Fits
    from clipscale.laws.predict import predict_frontier, predict_run

    fits = Fits.load(args.fits)
    if "compute" in asked:
        rows, notes = predict_frontier(fits, asked["compute"], level=asked["level"], where=args.where)
    else:
        rows, notes = predict_run(fits, asked["size"], asked["samples"], asked["unique"], level=asked["level"],
                                  where=args.where)
    for line in notes:
        print(f"clipscale: note: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2, allow_nan=False))
    else:
        print("\n".join(_line(r) for r in rows))
    return 0


def _line(r) -> str:
    """One prediction (laws.predict.Prediction) as text: group, where, the error and its interval,
    the law, the extrapolation."""
    from clipscale.laws.predict import FRACTION

    group = ", ".join(str(v) for v in r.group.values()) or "all rows"
    fmt = (lambda v: f"{100 * v:.1f}%") if r.unit == FRACTION else (lambda v: f"{v:.4g}")
    where = (f"at {r.compute:.3g} {r.compute_unit}" if r.size is None else
             f"N = {r.size:.4g}, D = {r.samples:.3g}" + (f", U = {r.unique:.3g}" if r.unique else ""))
    method = f"{r.method} ({r.form})" if r.form else r.method
    return (f"{group}: {where}: error {fmt(r.error)} ({round(100 * r.level)}%: {fmt(r.lo)} to {fmt(r.hi)}); "
            f"{method}; {r.extrapolation_decades:.2f} decades beyond the fitted runs")


def run_fit_perrun(args, df, holdout, warn_and_write) -> int:
    """`clipscale fit RESULTS.csv --method perrun`: the per-run law E(N, D, U) of every group, fitted
    together (fits.json for `clipscale predict --size`). N = --size-col (default gmacs, GMACs per
    sample), D = --data-col (default samples_seen), U = the table's unique samples (laws.noise)."""
    import pandas as pd

    from clipscale.laws.noise import unique_samples
    from clipscale.laws.perrun_table import DEFAULT_GROUP_BY, fit_perrun_groups
    from clipscale.laws.table import apply_where

    if holdout is not None:
        raise UserInputError("--method perrun takes no backtest split here; backtest it with `clipscale backtest "
                             "RESULTS.csv --target runs --holdout-top-frac F`")
    if args.compare is not None or args.opt:
        raise UserInputError("--compare and --opt do not apply to --method perrun; drop them")
    rows = apply_where(df, args.where)
    u = unique_samples(rows)
    if u is None:
        print("clipscale: note: the table gives no unique samples (a data_size column, or the paper's LAION "
              "upstream_dataset); the per-run law is fitted as E(N, D)", file=sys.stderr)
    print(f"clipscale: fitting the per-run law to {len(rows)} runs, every group at once ({args.n_boot} bootstrap "
          "resamples and a rolling-origin calibration: about 2 min of CPU for the paper's 41 datasets)", file=sys.stderr)
    found = fit_perrun_groups(rows if u is None else rows.assign(unique_samples=u), n_boot=args.n_boot, seed=args.seed,
                              size_col=args.size_col or "gmacs", data_col=args.data_col or "samples_seen",
                              unique_col=None if u is None else "unique_samples", metric=args.metric,
                              error_col=args.error_col, group_by=args.group_by or DEFAULT_GROUP_BY)
    found.meta["table"] = str(args.results)
    fits = found.frame()
    warn_and_write(fits, args, found)
    if args.json:
        print(json.dumps(json.loads(fits.to_json(orient="records")), indent=2))
        return 0
    decay = found.meta.get("decay")
    print("method: perrun  odds(E) = A/N^size_exp + B/D'^data_exp + floor, D' the effective data of U unique samples "
          + (f"(repetition decay R* = {decay:.3g}, shared)" if decay else "(no unique data: D' = D)"))
    cols = [c for c in ("n_points", "A", "B", "floor", "size_exp", "data_exp", "scatter") if c in fits.columns]
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.float_format", "{:.4g}".format):
        print(fits[list(found.meta["group_by"]) + cols].to_string(index=False))
    return 0
