"""`clipscale report RESULTS.csv [--curves CURVES.csv] --out DIR`: the interactive HTML report."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
    from clipscale.laws.defaults import N_BOOT, SEED

    p = sub.add_parser(
        "report", help="write the interactive HTML report of a results table (opens from file://)",
        description="Write a self-contained HTML report (scaling plot per downstream dataset with fitted "
                    "laws, learning curves, prediction and coefficient tables, CSVs and PNG/PDF figures) "
                    "into --out. An empty or malformed table still gives a report that says what is missing.")
    p.add_argument("results", type=Path, help="results table (CSV, clipscale.schema.RESULT_COLUMNS)")
    p.add_argument("--out", type=Path, required=True, help="folder to write index.html, CSVs and figures/ into")
    p.add_argument("--curves", type=Path, help="learning curves CSV (the paper's layout or clipscale's)")
    p.add_argument("--fits", type=Path, help="fits to show instead of fitting here: fits.json, or fits.csv "
                                              "(clipscale fit --out; its fits.json beside it is read when present, "
                                              "else the laws are drawn without bands)")
    p.add_argument("--backtest", type=Path, help="backtest table CSV (predicted vs actual) to show as is")
    p.add_argument("--title", default="clipscale report", help="page title")
    p.add_argument("--methods", default=None,
                   help="comma-separated fit methods to fit and toggle (default: auto,paper: the recommended frontier law first)")
    p.add_argument("--n-boot", type=int, default=N_BOOT,
                   help="bootstrap resamples per fit, for the band (default %(default)s)")
    p.add_argument("--seed", type=int, default=SEED, help="bootstrap seed (default %(default)s)")
    p.add_argument("--holdout", type=int, default=0, metavar="N",
                   help="backtest: refit each dataset, group and method without its N most expensive runs and "
                        "predict them (default 0: no backtest unless --backtest is given)")
    p.add_argument("--figure-dataset", action="append", dest="figure_datasets", metavar="DATASET",
                   help="draw PNG/PDF figures for this downstream dataset (repeatable; 'all' for every one; "
                        "default: the one shown first)")
    p.add_argument("--figure", action="append", dest="figures", default=[], type=Path, metavar="FILE",
                   help="an existing figure file to copy into the report and link (repeatable)")
    p.set_defaults(func=_report)


def _read(path: Path | None, what: str, notes: list[str]):
    """A CSV as a DataFrame; an empty or unparsable file becomes an empty table and a note."""
    import pandas as pd

    from clipscale.errors import NotFoundError

    if path is None:
        return None
    if not path.is_file():
        raise NotFoundError(f"{what} file not found: {path}; pass the path of a CSV file")
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        notes.append(f"The {what} file {path.name} is empty (no header, no rows).")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        notes.append(f"The {what} file {path.name} could not be read as CSV ({str(exc).strip()[:160]}).")
    return pd.DataFrame()


def _fits_arg(path: Path | None, notes: list[str]):
    """--fits: the path itself when clipscale.laws can read the fit objects back (fits.json, or
    fits.csv with fits.json beside it), else the CSV as a table."""
    from clipscale.laws.collection import fits_path

    if path is not None and (path.suffix.lower() == ".json" or fits_path(path).is_file()):
        return path
    return _read(path, "fit table", notes)


def _report(args: argparse.Namespace) -> int:
    from clipscale.errors import UserInputError
    from clipscale.laws import Holdout
    from clipscale.report import DEFAULT_METHODS, build_report

    if args.n_boot < 0 or args.holdout < 0:
        raise UserInputError(f"--n-boot and --holdout must be >= 0, got {args.n_boot} and {args.holdout}")
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip()) if args.methods else DEFAULT_METHODS
    notes: list[str] = []
    results = _read(args.results, "results", notes)
    curves = _read(args.curves, "learning-curves", notes)
    fits = _fits_arg(args.fits, notes)
    backtest = _read(args.backtest, "backtest", notes)
    index = build_report(results, args.out, curves=curves, fits=fits if isinstance(fits, Path) or (fits is not None and len(fits)) else None,
                         title=args.title, backtest=backtest, methods=methods, n_boot=args.n_boot,
                         seed=args.seed, figure_datasets=args.figure_datasets, figures=args.figures, notes=notes,
                         holdout=Holdout(top=args.holdout) if args.holdout else None)
    print(index)
    return 0
