"""`clipscale report RESULTS.csv [--curves CURVES.csv] --out DIR`: the interactive HTML report."""
from __future__ import annotations

import argparse
from pathlib import Path

from clipscale.cli._parsing import RawFormatter, nonnegative_int


def register(sub) -> None:
    """Add this stage's subcommands to the top-level parser."""
    from clipscale.laws.defaults import N_BOOT, SEED

    p = sub.add_parser(
        "report", help="write the interactive HTML report of a results table (opens from file://)",
        description="Write a self-contained HTML report (scaling plot per downstream dataset with fitted "
                    "laws, learning curves, prediction and coefficient tables, CSVs and PNG/PDF figures) "
                    "into --out. Rows the report cannot use (no compute, a metric outside [0, 1]) are named at "
                    "the top of the page.",
        epilog="examples:\n  clipscale report results.csv --out report\n"
               "  clipscale report results.csv --fits fits.json --curves curves.csv --out report --holdout 3",
        formatter_class=RawFormatter)
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
    p.add_argument("--n-boot", type=nonnegative_int, default=N_BOOT,
                   help="bootstrap resamples per fit, for the band; 0 for none (default %(default)s)")
    p.add_argument("--seed", type=int, default=SEED, help="bootstrap seed (default %(default)s)")
    p.add_argument("--holdout", type=nonnegative_int, default=0, metavar="N",
                   help="backtest: refit each dataset, group and method without its N most expensive runs and "
                        "predict them (default 0: no backtest unless --backtest is given)")
    p.add_argument("--figure-dataset", action="append", dest="figure_datasets", metavar="DATASET",
                   help="draw PNG/PDF figures for this downstream dataset (repeatable; 'all' for every one; "
                        "default: the one shown first)")
    p.add_argument("--figure", action="append", dest="figures", default=[], type=Path, metavar="FILE",
                   help="an existing figure file to copy into the report and link (repeatable)")
    p.set_defaults(func=_report)


def _read(path: Path | None, what: str, notes: list[str] | None = None):
    """The CSV at `path` (None when not given); a missing, empty or unparsable file is a one-line error:
    a table given on the command line must be one (the library still draws a page from an empty table)."""
    import pandas as pd

    from clipscale.errors import DataError, NotFoundError

    if path is None:
        return None
    if not path.is_file():
        raise NotFoundError(f"{what} file not found: {path}; pass the path of a CSV file")
    try:
        table = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"the {what} file {path} is empty (no header, no rows); pass a CSV with a header and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"the {what} file {path} could not be read as CSV ({str(exc).strip()[:160]}); "
                        "pass a comma-separated table") from None
    if table.empty:
        raise DataError(f"the {what} file {path} has a header but no rows; pass a table with rows")
    return table


def _results(path: Path):
    """The results table: readable, with rows, and with columns of the results schema."""
    from clipscale.errors import DataError
    from clipscale.schema import RESULT_COLUMNS

    table = _read(path, "results")
    if not set(RESULT_COLUMNS) & set(table.columns):
        raise DataError(f"{path} has none of the results table's columns ({', '.join(RESULT_COLUMNS[:6])}, ...); "
                        "pass a results CSV (`clipscale eval --out`, a study's results.csv, the paper's table)")
    return table


def _fits_arg(path: Path | None, notes: list[str]):
    """--fits: the path itself when clipscale.laws can read the fit objects back (fits.json, or
    fits.csv with fits.json beside it), else the CSV as a table."""
    from clipscale.laws.collection import fits_path

    if path is not None and (path.suffix.lower() == ".json" or fits_path(path).is_file()):
        return path
    return _read(path, "fit table", notes)


def _report(args: argparse.Namespace) -> int:
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip()) if args.methods else None
    notes: list[str] = []
    results = _results(args.results)  # input checked before the report's libraries are imported
    from clipscale.laws import Holdout
    from clipscale.report import DEFAULT_METHODS, build_report

    methods = methods or DEFAULT_METHODS
    curves = _read(args.curves, "learning-curves", notes)
    fits = _fits_arg(args.fits, notes)
    backtest = _read(args.backtest, "backtest", notes)
    index = build_report(results, args.out, curves=curves, fits=fits if isinstance(fits, Path) or (fits is not None and len(fits)) else None,
                         title=args.title, backtest=backtest, methods=methods, n_boot=args.n_boot,
                         seed=args.seed, figure_datasets=args.figure_datasets, figures=args.figures, notes=notes,
                         holdout=Holdout(top=args.holdout) if args.holdout else None)
    print(index)
    return 0
