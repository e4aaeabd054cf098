"""`clipscale paper fit|figures|report`: the paper's laws, figures and report from its public tables."""
from __future__ import annotations

import sys

from clipscale.cli._parsing import RawFormatter, actions, nonnegative_int

# MAE of the paper's prediction figures (figures.ipynb), in error-percentage points.
PAPER_MAE = {"imagenet1k": 0.874, "mscoco_captions": 0.588}

_RESULTS_HELP = ("the paper's zeroshot_results.csv (its companion tables are read from the same folder); "
                 "default: downloaded once from github.com/LAION-AI/scaling-laws-openclip (commit 652b1e7) "
                 "and cached (CLIPSCALE_CACHE; mirror: CLIPSCALE_PAPER_URL)")


def _table_args(parser, *, out_help: str, boot_help: str) -> None:
    """--results, --out, --n-boot, --seed: shared by `paper fit` and `paper figures`."""
    from clipscale.laws.defaults import N_BOOT, SEED

    parser.add_argument("--results", help=_RESULTS_HELP)
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--n-boot", type=nonnegative_int, default=N_BOOT, help=boot_help)
    parser.add_argument("--seed", type=int, default=SEED, help="bootstrap seed (default %(default)s)")


def register(sub) -> None:
    """Add `clipscale paper` and its subcommands to the top-level parser."""
    p = sub.add_parser("paper", help="reproduce the paper's scaling laws, figures and report",
                       description="Reproduce Cherti et al. (CVPR 2023) from its public tables.",
                       epilog="examples (without --results, the tables are downloaded once and cached):\n"
                              "  clipscale paper fit --results zeroshot_results.csv --out paper-fits.csv --n-boot 100\n"
                              "  clipscale paper figures --results zeroshot_results.csv --out paper-figures --n-boot 100\n"
                              "  clipscale paper report --results zeroshot_results.csv --out paper-report",
                       formatter_class=RawFormatter)
    ps = actions(p, "paper_command")

    f = ps.add_parser("fit", help="fit every downstream dataset x group (openclip, openai) -> CSV",
                      description="The paper's laws (5 log-compute bins, min error per bin, least squares; "
                                  "plain least squares for CLIP-WIT) for every dataset and group, plus the "
                                  "corrected text-retrieval laws (variant column).")
    _table_args(f, out_help="output CSV of fits", boot_help="bootstrap resamples (default %(default)s)")
    f.set_defaults(func=run_fit)

    g = ps.add_parser("figures", help="scaling, prediction and learning-curve figures (PNG + PDF)",
                      description="Writes the scaling figures, the prediction figures with DIR/predictions.csv "
                                  "(and prints their MAE in error-percentage points) and the ImageNet learning "
                                  "curves against epoch, samples seen and step.")
    _table_args(g, out_help="output folder", boot_help="bootstrap resamples for prediction intervals")
    g.set_defaults(func=run_figures)

    r = ps.add_parser("report", help="the interactive HTML report of the paper's results",
                      description="Builds DIR/index.html with clipscale.report from the paper's tables.")
    r.add_argument("--results", help=_RESULTS_HELP)
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--title", default="Reproducible scaling laws for contrastive language-image learning "
                                      "(Cherti et al., CVPR 2023)", help="page title")
    r.add_argument("--holdout", type=nonnegative_int, default=2, metavar="N",
                   help="held-out backtest: refit each law without its N most expensive runs and predict "
                        "them (default 2; 0: none)")
    r.set_defaults(func=run_report)


def run_fit(args) -> int:
    from clipscale.paper import load
    from clipscale.paper.fits import paper_fits
    from clipscale.paper.commands import write_csv

    tables = load(args.results)
    fits = paper_fits(tables.results, n_boot=args.n_boot, seed=args.seed)
    write_csv(fits, args.out)
    ok = fits[fits["status"] == "ok"]
    print(f"wrote {len(fits)} fits ({len(ok)} ok) to {args.out}")
    for _, row in ok[(ok["downstream_dataset"] == "imagenet1k") & (ok["variant"] == "paper")].iterrows():
        print(f"  imagenet1k {row['group']}: {row['formula']}")
    for _, row in fits[fits["status"] != "ok"].iterrows():
        print(f"clipscale: warning: {row['message']}", file=sys.stderr)
    return 0


def run_figures(args) -> int:
    from tqdm import tqdm

    from clipscale.paper import load
    from clipscale.paper.commands import figure_count, make_figures

    tables = load(args.results)
    with tqdm(total=figure_count(tables), desc="figures", unit="fig", file=sys.stderr) as bar:
        figs = make_figures(tables, args.out, n_boot=args.n_boot, seed=args.seed,
                            progress=lambda msg: (bar.set_postfix_str(msg), bar.update()))
    for note in figs.notes:
        print(f"clipscale: note: {note}", file=sys.stderr)
    print(f"wrote {len(figs.files)} files to {args.out}")
    for dataset, mae in figs.mae_pct.items():
        n = int(figs.predictions.query("target == @dataset")["actual_err_pct"].notna().sum())
        print(f"  prediction MAE {dataset}: {mae:.3f} error-% points over {n} model/budget pairs with runs "
              f"(the paper's notebook: {PAPER_MAE.get(dataset, float('nan')):.3f})")
    return 0


def run_report(args) -> int:
    import pandas as pd

    from clipscale.laws import Holdout
    from clipscale.paper import load
    from clipscale.paper.curves import prepare_curves
    from clipscale.paper.predictions import PREDICTION_DATASETS, predict_targets
    from clipscale.report import build_report

    tables = load(args.results, need=("results", "curves", "runs"))
    curves = prepare_curves(tables.curves, tables.runs) if tables.curves is not None else None
    predictions = None
    present = set(tables.results["downstream_dataset"])
    if tables.archs is not None and present & set(PREDICTION_DATASETS):
        predictions = pd.concat([predict_targets(tables.results, tables.archs, d, n_boot=0)[0]
                                 for d in PREDICTION_DATASETS if d in present], ignore_index=True)
        predictions = predictions.drop(columns=["pred_lo_pct", "pred_hi_pct"])
    # The notebook's predictions are fitted on every run (in-sample); the held-out backtest refits
    # each law without its `--holdout` most expensive runs and predicts them.
    index = build_report(tables.results, args.out, curves=curves, title=args.title, in_sample=predictions,
                         holdout=Holdout(top=args.holdout) if args.holdout else None)
    print(f"wrote {index}")
    return 0
