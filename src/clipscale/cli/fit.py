"""`clipscale fit RESULTS.csv`: fit a scaling law per group of any results table."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap

from clipscale.cli._parsing import nonnegative_int
from clipscale.errors import FitError, UserInputError


def register(sub) -> None:
    """Add `clipscale fit` to the top-level parser."""
    from clipscale.laws.methods import METHODS, RETIRED

    p = sub.add_parser(
        "fit", help="fit scaling laws E = coef * C^alpha to a results table",
        description="Fit a scaling law per group of a results CSV (the paper's long schema, or a wide "
                    "table with one column per downstream dataset, which is reshaped). Error = 1 - metric "
                    "(fractions); compute is the column's unit (default total GMACs).",
        epilog="examples:\n  clipscale fit results.csv --n-boot 200\n"
               "  clipscale fit results.csv --method logodds-sat --holdout-top 3 --out fits.csv   (also fits.json)\n"
               "  clipscale fit results.csv --compare --holdout-top 3\n"
               "  clipscale fit results.csv --method joint --size-col gmacs --size-unit gmacs --data-col samples_seen "
               "--n-boot 50 --save-fits joint.json\n"
               "  clipscale fit results.csv --method perrun --save-fits perrun.json   (for clipscale predict --size)\n"
               "methods:\n" + "\n".join(f"  {m.name}: {textwrap.fill(m.summary, 90, subsequent_indent='    ')}"
                                          for m in METHODS.values())
               + "\nretired: " + ", ".join(RETIRED),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _table_args(p, METHODS)
    _joint_args(p)
    _output_args(p)
    p.set_defaults(func=run)


def _table_args(p, methods) -> None:
    """The table, its columns and rows, and the method."""
    p.add_argument("results", help="results CSV")
    p.add_argument("--compute-col", default="gmacs_total", help="compute column (default: gmacs_total)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--metric", help="metric column, a fraction; error = 1 - metric (default: the paper's "
                                    "per-dataset metric, e.g. acc1, image_retrieval_recall@5 for retrieval)")
    g.add_argument("--error-col", help="column that already holds the error as a fraction")
    p.add_argument("--group-by", nargs="+", metavar="COL",
                   help="group columns (default: downstream_dataset group, where present; 'group' is "
                        "derived from upstream_dataset: openai for CLIP-WIT, else openclip)")
    p.add_argument("--where", action="append", metavar="'COL==VALUE'",
                   help="row filter, repeatable; operators == != < <= > >=")
    from clipscale.laws.defaults import FRONTIER_METHOD

    p.add_argument("--method", default=FRONTIER_METHOD, metavar="METHOD",
                   help=f"law-fitting method, one of {', '.join(sorted(methods))}, joint, perrun (default: {FRONTIER_METHOD}, "
                        "the recommended frontier law; paper: the paper's notebook procedure); joint: E(N, D) = "
                        "floor + A/N^size_exp + B/D^data_exp (needs --size-col and --data-col; --error-col may hold "
                        "any positive loss); perrun: the per-run law E(N, D, U) for `clipscale predict --size` "
                        "(N = gmacs, D = samples_seen, U = data_size or the paper's LAION sets)")


def _joint_args(p) -> None:
    j = p.add_argument_group("joint law (--method joint)")
    j.add_argument("--size-col", help="model size N column: parameters, or per-sample GMACs (say which with --size-unit)")
    j.add_argument("--data-col", help="data size D column: samples seen")
    j.add_argument("--size-unit", default="parameters", choices=("parameters", "gmacs"),
                   help="what --size-col holds (default: parameters)")
    j.add_argument("--cost-col", help="per-sample compute column (GMACs per sample, e.g. gmacs) for the "
                                     "compute-optimal allocation and the backtest split; default: gmacs if present")
    j.add_argument("--cost-factor", type=float, help="instead of --cost-col: per-sample compute = FACTOR x N "
                                                    "(6 for Chinchilla's C = 6ND)")
    j.add_argument("--delta", type=float, default=1e-3, help="Huber delta in natural-log units (default 1e-3)")


def _output_args(p) -> None:
    """Fit options, the backtest split, and what is printed and written."""
    from clipscale.laws.defaults import N_BOOT, SEED

    p.add_argument("--save-fits", metavar="JSON", help="write the fit objects (bootstrap included) to this JSON "
                                                       "file (default with --out: fits.json beside the CSV); the "
                                                       "report and `clipscale plan --fit` read it back")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="method option, repeatable, e.g. --opt loss=huber --opt delta=0.05 (frontier), "
                        "--opt nbins=5 (paper)")
    from clipscale.laws.defaults import N_BOOT_PERRUN

    p.add_argument("--n-boot", type=nonnegative_int, help=f"bootstrap resamples for the intervals, 0 for none "
                                                          f"(default {N_BOOT}; {N_BOOT_PERRUN} for --method perrun)")
    p.add_argument("--seed", type=int, default=SEED, help="bootstrap seed (default %(default)s)")
    h = p.add_mutually_exclusive_group()
    h.add_argument("--holdout-top-frac", type=float, metavar="F",
                   help="backtest: hold out the fraction F of runs with the largest compute")
    h.add_argument("--holdout-top", type=int, metavar="K", help="backtest: hold out the K largest-compute runs")
    h.add_argument("--holdout-above", type=float, metavar="C",
                   help="backtest: fit on the runs with compute <= C, hold out the rest (compute column's unit)")
    h.add_argument("--holdout-frontier-top", type=int, metavar="K",
                   help="backtest: judge the K largest-compute frontier runs, hold out every run at or above the "
                        "cheapest of them (the demo's split)")
    p.add_argument("--wide", action="store_true", default=None,
                   help="the table is wide (one column per downstream dataset); detected when there is "
                        "no downstream_dataset column")
    p.add_argument("--value-cols", nargs="+", metavar="COL",
                   help="wide tables: the per-dataset metric columns (default: numeric columns in [0, 1])")
    p.add_argument("--compare", nargs="*", metavar="METHOD",
                   help="with --holdout-top(-frac): backtest these methods (default: all) on the same split "
                        "and print one row per group x method (mae_pct in error-percentage points)")
    p.add_argument("--json", action="store_true", help="print one JSON object per group (a JSON list)")
    p.add_argument("--out", metavar="CSV", help="also write the table of fits to this CSV")


def parse_opts(items: list[str]) -> dict:
    """'key=value' strings -> dict with ints, floats and booleans converted."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"--opt {item!r} is not KEY=VALUE; e.g. --opt loss=huber")
        low = raw.lower()
        if low in ("true", "false"):
            out[key] = low == "true"
            continue
        for conv in (int, float):
            try:
                out[key] = conv(raw)
                break
            except ValueError:
                continue
        else:
            out[key] = raw
    return out


def run(args) -> int:
    import pandas as pd

    from clipscale.laws.split import Holdout
    from clipscale.laws.table import fit_groups, read_table

    from clipscale.laws.defaults import N_BOOT, N_BOOT_PERRUN

    holdout = Holdout.of(args.holdout_top_frac, args.holdout_top, args.holdout_above, args.holdout_frontier_top)
    if args.n_boot is None:
        args.n_boot = N_BOOT_PERRUN if args.method == "perrun" else N_BOOT
    if args.method not in ("joint", "perrun"):
        from clipscale.laws.methods import get

        get(args.method)  # unknown or retired: one line before reading the table
    df = read_table(args.results)
    if args.method == "joint":
        return run_joint(args, df, holdout)
    if args.method == "perrun":
        from clipscale.cli.predict import run_fit_perrun

        return run_fit_perrun(args, df, holdout, _warn_and_write)
    if args.size_col or args.data_col:
        raise UserInputError("--size-col/--data-col are for --method joint; add it or drop them")
    if args.compare is not None:
        return run_compare(args, df, holdout)
    found = fit_groups(df, compute_col=args.compute_col, metric=args.metric, error_col=args.error_col,
                     group_by=args.group_by, where=args.where, method=args.method, n_boot=args.n_boot,
                     seed=args.seed, holdout=holdout, wide=args.wide, value_cols=args.value_cols,
                     **parse_opts(args.opt))
    found.meta["table"] = str(args.results)
    fits = found.frame()
    keys = [c for c in fits.columns[:fits.columns.get_loc("metric")]]
    shown = fits.assign(message=[_notes(e) for e in found.entries])  # the form 'auto' chose is a column
    _once("note", shown[(shown["status"] == "ok") & (shown["message"] != "")], keys)
    _warn_and_write(fits, args, found)
    if args.json:
        records = json.loads(fits.to_json(orient="records"))
        print(json.dumps(records, indent=2))
    else:
        print(_text(fits, pd))
    return 0


def run_joint(args, df, holdout) -> int:
    """`clipscale fit --method joint`: one joint law per group; --save-fits for `clipscale plan`."""
    import pandas as pd

    from clipscale.laws.joint_table import fit_joint_groups

    if not args.size_col or not args.data_col:
        raise UserInputError("--method joint needs --size-col COL (parameters or per-sample GMACs) and "
                             "--data-col COL (samples seen)")
    if args.compare is not None or args.opt:
        raise UserInputError("--compare and --opt do not apply to --method joint; drop them")
    cost_col = args.cost_col or ("gmacs" if args.cost_factor is None and "gmacs" in df.columns
                                 and args.size_col != "gmacs" else None)
    found = fit_joint_groups(
        df, size_col=args.size_col, data_col=args.data_col, metric=args.metric, error_col=args.error_col,
        group_by=args.group_by, where=args.where, n_boot=args.n_boot, seed=args.seed, delta=args.delta,
        size_unit=args.size_unit, cost_col=cost_col, cost_factor=args.cost_factor,
        holdout=holdout)
    found.meta["table"] = str(args.results)
    fits = found.frame()
    _warn_and_write(fits, args, found)
    if args.json:
        print(json.dumps(json.loads(fits.to_json(orient="records")), indent=2))
    else:
        cols = [c for c in fits.columns if c not in ("message", "formula", "method", "status")
                and not c.endswith(("_lo", "_hi"))]
        with pd.option_context("display.max_rows", None, "display.width", 220, "display.float_format", "{:.4g}".format):
            print("method: joint  E = floor + A/N^size_exp + B/D^data_exp  (intervals: --json)\n"
                  + fits.loc[fits["status"] == "ok", cols].to_string(index=False))
    return 0


def run_compare(args, df, holdout) -> int:
    import pandas as pd

    from clipscale.laws import compare_table
    from clipscale.laws.defaults import N_BOOT, SEED
    from clipscale.laws.methods import METHODS

    if holdout is None:
        raise UserInputError("--compare needs a split: add --holdout-top K, --holdout-top-frac F or --holdout-above C")
    methods = args.compare or list(METHODS)
    for name in methods:
        if name not in METHODS:
            from clipscale.errors import unknown

            raise unknown("law method", name, METHODS, "pass --compare with some of them")
    table = compare_table(df, methods, holdout=holdout, group_by=args.group_by, compute_col=args.compute_col,
                          metric=args.metric,
                          error_col=args.error_col, where=args.where, wide=args.wide, value_cols=args.value_cols)
    if args.out:
        from clipscale._io import atomic_write_with

        atomic_write_with(args.out, lambda p: table.to_csv(p, index=False))
    keys = [c for c in table.columns[:table.columns.get_loc("method") + 1]]
    _once("warning", table[table["status"] != "ok"], keys, noun="row", tail=" not backtested")
    if args.json:
        print(json.dumps(json.loads(table.to_json(orient="records")), indent=2))
    else:
        cols = [c for c in table.columns if c not in ("message", "formula", "floor", "alpha", "coef")]
        with pd.option_context("display.max_rows", None, "display.width", 200,
                               "display.float_format", "{:.3f}".format):
            print(table[cols].to_string(index=False))
    return 0


def _notes(entry) -> str:
    """An entry's notes for stderr: its fit's notes less the form 'auto' chose (fits.csv's `form`)."""
    if not entry.ok:
        return entry.message
    return "; ".join(entry.fit.notes[1:] if entry.fit.chosen_from else entry.fit.notes)


def _once(level: str, rows, keys: list[str], noun: str = "group", tail: str = "") -> None:
    """Each distinct message of `rows` once on stderr, with how many rows it concerns and the first few."""
    for message, same in rows.groupby(rows["message"].astype(str), sort=False):
        names = ["/".join(str(v) for v in r) for r in same[keys].itertuples(index=False)] if keys else []
        shown = ", ".join(names[:3]) + (f", ... ({len(names) - 3} more)" if len(names) > 3 else "")
        print(f"clipscale: {level}: {message} [{len(same)} {noun}{'s' * (len(same) != 1)}{tail}"
              f"{': ' + shown if shown else ''}]", file=sys.stderr)


def _text(fits, pd) -> str:
    cols = [c for c in fits.columns if c not in {"method", "status", "message", "formula", "c0", "floor_lo",
                                                   "floor_hi", "coef_lo", "coef_hi", "n_fit_points"}]
    ok = fits[fits["status"] == "ok"]
    view = ok[cols].copy()
    view.insert(len(view.columns), "formula", ok["formula"])
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.float_format", "{:.4g}".format):
        return f"method: {fits['method'].iloc[0]}\n" + view.to_string(index=False)


def _warn_and_write(fits, args, found=None) -> None:
    """One warning line per failed group; FitError when none fitted; --out written atomically, with
    the fit objects (`found`, a clipscale.laws Fits) in --save-fits or fits.json beside --out."""
    from clipscale._io import atomic_write_with

    failed = fits[fits["status"] != "ok"]
    for msg in failed["message"]:
        print(f"clipscale: warning: {msg}", file=sys.stderr)
    if len(failed) == len(fits):
        raise FitError(f"no group could be fitted: {failed['message'].iloc[0]}")
    if args.out:
        atomic_write_with(args.out, lambda p: fits.to_csv(p, index=False))
    if found is not None and (args.save_fits or args.out):
        from clipscale.laws.collection import fits_path

        found.save(args.save_fits or fits_path(args.out))
