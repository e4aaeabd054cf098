"""The interactive HTML report of scaling laws: one self-contained page plus its CSVs and figures.

    from clipscale.report import build_report
    index = build_report(results, "report-out", curves=curves)   # -> report-out/index.html

The page opens from file:// with no network: a downstream-dataset selector and the log-log scaling
plot (error in percent vs total GMACs) with each group's fitted law, formula and confidence band and
a toggle between fit methods; learning curves with filters and an x-axis choice; predicted vs actual
error; a sortable table of every fit's coefficients; links to the CSVs and PNG/PDF figures.
Bad input (an empty or malformed table, too few points for a fit) still gives a page that says what
is missing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import pandas as pd

from clipscale._io import atomic_write_bytes, atomic_write_text, atomic_write_with
from clipscale.errors import NotFoundError, unknown
from clipscale.report._answer import answer
from clipscale.report._answer_page import answer_section
from clipscale.report._compare import comparison_section, write_comparison
from clipscale.report._design import design_section
from clipscale.report._data import Problems, curve_layout, normalise_curves, normalise_results, normalise_training
from clipscale.report._fits import DEFAULT_METHODS, FitSet, fit_results, fits_from_table, from_fits
from clipscale.report._joint import joint_section
from clipscale.report._page import default_panel, payload, render_html
from clipscale.schema import EVAL_KIND_COL
from clipscale.laws.defaults import N_BOOT, SEED
from clipscale.laws.split import Holdout

__all__ = ["build_report", "DEFAULT_METHODS", "write_comparison", "comparison_section"]

ALL = "all"  # figure_datasets=["all"]: a figure for every downstream dataset
_CURVES_NOTE = ("Paper runs: arch, data and samples seen come from the checkpoint name; samples seen at an "
                "epoch = epoch / last epoch × the run's samples seen, and step = samples seen / the global "
                "batch size in the name (bs-86k), so both are approximate.")


def build_report(results: pd.DataFrame, out_dir: str | os.PathLike, *, curves: pd.DataFrame | None = None,
                 fits=None, title: str = "clipscale report", backtest: pd.DataFrame | None = None,
                 methods: Sequence[str] = DEFAULT_METHODS, n_boot: int = N_BOOT, seed: int = SEED,
                 figure_datasets: Sequence[str] | None = None, figures: Sequence[str | os.PathLike] = (),
                 notes: Sequence[str] = (), holdout: Holdout | None = None, in_sample: pd.DataFrame | None = None,
                 training: pd.DataFrame | None = None, comparisons=None, design=None,
                 unmet: Sequence[str] | None = None, facts: Sequence[str] = ()) -> Path:
    """Write the report into `out_dir` and return the path of its index.html.

    results: rows in clipscale.schema.RESULT_COLUMNS (metrics as fractions; error = 1 - default metric).
    curves: learning curves, the paper's layout or clipscale's. fits: the fits to show instead of fitting
    here: a clipscale.laws `Fits` or the path of a fits.json (laws, bands and joint laws read back), or a
    fit_table frame / fits.csv path (laws without bands); else every dataset x group x method in
    `methods` is fitted by clipscale.laws.fit_groups with `n_boot` bootstrap resamples for the band.
    backtest: any table of predicted vs actual, shown as is. figure_datasets: datasets to draw as
    PNG/PDF (default: the one shown first; ["all"]: every one, about a second each); figures: the
    caller's own figure files, copied into out_dir/figures and linked. notes: sentences to show at the
    top (e.g. the CLI's "the results file could not be read"). holdout: when no `backtest` is given, a
    clipscale.laws.Holdout: backtest each dataset x group x method by refitting without the runs it holds
    out (e.g. Holdout(top=2): the 2 most expensive). in_sample: predicted vs actual for runs the law was
    fitted on (e.g. the paper notebook's), shown in its own section, labelled in-sample, never as a
    backtest. comparisons: clipscale.laws.compare Comparisons (two recipes), shown in their own section
    and written as compare.json, compare.csv and figures/compare_*.png. design: an adaptive study's
    design.jsonl records, shown in their own section (report._design). The page starts with the answer
    (report._answer, for the plot shown first; the held-out backtest of split `holdout` or
    _answer.DEFAULT_HOLDOUT, its rows in heldout.csv). unmet: the demo's targets missed (None: not
    checked; []: all met); facts: sentences about the study that are not problems (budget, speeds),
    shown with the answer; `notes` are only what is missing or was left out.
    """
    out = Path(out_dir)
    problems = Problems(list(notes))
    points = normalise_results(results, problems)
    _check_figure_inputs(points, figure_datasets, figures)
    curve_rows = normalise_curves(curves, results if isinstance(results, pd.DataFrame) else None, problems)
    train_rows = normalise_training(training, problems)
    fitset = _fitset(_read_fits(fits), results, points, problems, methods, n_boot, seed)
    _note_unfitted(fitset, problems)
    if backtest is None and holdout is not None and fits is None and len(points):
        backtest = _holdout_backtest(results, points, problems, fitset.methods, holdout)
    joint, plan = joint_section(fitset.joint, points)
    files = _write_tables(out, results, points, curve_rows, fitset, backtest, in_sample, plan, train_rows)
    ans = _answer(results, points, fitset, holdout, n_boot, seed)
    files += _write_heldout(out, ans)
    data = payload(title=title, points=points, curves=curve_rows, fitset=fitset, backtest=backtest,
                   problems=problems, files=files, in_sample=in_sample, joint=joint, training=train_rows,
                   curves_empty="No learning curves were given (pass --curves CURVES.csv)." if curves is None
                   else "The learning-curves table has no usable rows (see the notes above).")
    _add_figures(out, data, ans, points, curve_rows, fitset, figure_datasets, figures, train_rows)
    note, top = _CURVES_NOTE if curve_layout(curves) == "paper" else "", answer_section(ans, unmet=unmet, facts=facts)
    return atomic_write_text(out / "index.html", render_html(data, note, _sections(out, data, comparisons, design), answer=top))


def _answer(results, points, fitset, holdout, n_boot: int, seed: int):
    """The page's answer (report._answer) for the plot shown first; None when nothing is plotted."""
    panel = default_panel(points, fitset)
    return answer(results, points, fitset, panel, holdout=holdout, n_boot=n_boot, seed=seed) if panel else None


def _add_figures(out: Path, data: dict, ans, points, curve_rows, fitset, figure_datasets, figures,
                 train_rows) -> None:
    """Draw the figures into out/figures and add them, their files and the reliability plot's data
    (the held-out answer's) to the page's `data`."""
    links, data["figures"] = _write_figures(out, points, curve_rows, fitset, data["default_dataset"],
                                            figure_datasets, figures, train_rows)
    data["files"] = data["files"] + links
    data["reliability"] = reliability(ans)


def _sections(out: Path, data: dict, comparisons, design) -> str:
    """The optional sections' HTML (two recipes compared, an adaptive design), their files linked in `data`."""
    section = comparison_section(comparisons, dict(enumerate(write_comparison(comparisons, out, page=False)[2:]))) \
        if comparisons else ""
    if design is not None:
        html_part, written = design_section(*design, out)
        section += html_part
        data["files"] += [{"label": p.name, "href": quote(p.relative_to(out).as_posix()),
                           "note": "(the adaptive design)"} for p in written]
    return section


#: the answer's backtests: (its key, the CSV of its rows, what it holds, its label in the plot)
_HELDOUT = (("backtest", "heldout.csv", "held-out frontier runs, the frontier law", "frontier runs"),
            ("backtest_runs", "heldout_runs.csv", "every held-out run, the per-run law", "every run"))


def _write_heldout(out: Path, ans: dict | None) -> list[dict]:
    """heldout.csv (frontier target) and heldout_runs.csv (per-run target): the answer's backtest rows
    (laws.heldout's backtest.csv columns), taken out of `ans`."""
    links = []
    for key, name, what, _ in _HELDOUT:
        rows = ans[key].pop("rows", None) if ans else None
        if rows is not None:
            _write_csv(out / name, rows)
            links.append({"label": name, "href": name, "note": f"(the answer's backtest: {what}; predicted vs "
                                                               "actual error in %, 90% interval)"})
    return links


def reliability(ans: dict | None) -> list[dict]:
    """The reliability plot's series, one per backtest that ran: the law, target, nominal and
    observed coverage (fractions) and the held-out count."""
    out = []
    for key, _, _, label in _HELDOUT:
        bt = ans[key] if ans else None
        if bt and bt.get("status") == "ok":
            out.append({"label": f"{bt['law']} ({label})", "target": bt["target"],
                        "nominal": bt["levels"], "observed": bt["coverage"], "n": bt["n"]})
    return out


def _read_fits(fits):
    """A Fits, a DataFrame or None from what the caller passed (a path: fits.json, or a CSV with its
    fits.json beside it when there is one, read back)."""
    if not isinstance(fits, (str, os.PathLike)):
        return fits
    from clipscale.laws import Fits
    from clipscale.laws.collection import fits_path

    path = Path(fits)
    if path.suffix.lower() == ".json":
        return Fits.load(path)
    if fits_path(path).is_file():
        return Fits.load(fits_path(path))
    if not path.is_file():
        raise NotFoundError(f"fit table not found: {path}; pass fits.json or fits.csv written by clipscale fit")
    return pd.read_csv(path)


def _fitset(fits, results, points, problems: Problems, methods, n_boot: int, seed: int) -> FitSet:
    """The caller's fits (a Fits or a fit table), else every dataset x group x method fitted by
    clipscale.laws (nothing to fit when no point is left)."""
    if isinstance(fits, pd.DataFrame):
        return fits_from_table(fits, points, problems)
    if fits is not None:
        return from_fits(fits, points)
    from clipscale.laws import Fits

    fitted = fit_results(results, methods=methods, n_boot=n_boot, seed=seed) if len(points) else Fits()
    fitset = from_fits(fitted, points)
    fitset.methods = tuple(methods)
    return fitset


def _holdout_backtest(results, points, problems: Problems, methods, holdout: Holdout) -> pd.DataFrame:
    """clipscale.laws.backtest_groups for every dataset x group x method: refit without the runs
    `holdout` holds out and predict them; the combinations too small are counted. The
    table's downstream_dataset names the report's plot (panel), so the page can follow its selector."""
    from clipscale.laws import backtest_groups
    from clipscale.report._data import panel_name

    table, skipped = backtest_groups(results, methods, holdout=holdout, bad="drop", wide=False,
                                     keep=("name", "arch", "upstream_dataset", "samples_seen_pretty"))
    if skipped:
        problems.add(f"Backtest: {len(skipped)} dataset / group / method combinations have too few runs to fit "
                     f"with {holdout.describe()}, and are not in the backtest table.")
    if len(table) and EVAL_KIND_COL in table.columns:
        table["downstream_dataset"] = [panel_name(d, k) for d, k in zip(table["downstream_dataset"], table[EVAL_KIND_COL])]
    elif len(table):  # one evaluation kind per dataset: its panel
        panels = points.groupby("downstream_dataset")["panel"].first()
        table["downstream_dataset"] = table["downstream_dataset"].map(lambda d: panels.get(str(d), d))
    return table


def _note_unfitted(fitset: FitSet, problems: Problems) -> None:
    missing = sorted({(d, g) for d, by_method in fitset.laws.items() for laws in by_method.values()
                      for g, law in laws.items() if "missing" in law})
    if missing:
        shown = "; ".join(f"{d} / {g}" for d, g in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        problems.add(f"Some dataset / group pairs could not be fitted by every method (too few points or no "
                     f"spread): {shown}{more}. The formula list under the plot gives the reason.")


def _check_figure_inputs(points: pd.DataFrame, figure_datasets, figures) -> None:
    """Fail before writing anything when a figure dataset or file the caller named does not exist."""
    known = set(points["panel"])
    unknown_ds = [d for d in (figure_datasets or ()) if d not in known and list(figure_datasets) != [ALL]]
    if unknown_ds:
        raise unknown("figure dataset", unknown_ds[0], known, "choose a downstream_dataset of the results table")
    for given in figures:
        if not Path(given).is_file():
            raise NotFoundError(f"figure file {given} does not exist; pass existing PNG/PDF/SVG files")


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_with(path, lambda tmp: df.to_csv(tmp, index=False))


def _write_tables(out: Path, results, points, curve_rows, fitset: FitSet, backtest, in_sample=None,
                  plan=None, train_rows=None) -> list[dict]:
    """The report's CSVs, next to index.html; returns the page's links to them."""
    tables = [("results.csv", results if isinstance(results, pd.DataFrame) else pd.DataFrame(), "results table as given"),
              ("points.csv", points.assign(error_pct=100 * points["error"]), "plotted points: error (fraction and %), compute = total GMACs"),
              ("fits.csv", fitset.coefficient_frame(), "fitted coefficients per dataset, group and method"),
              ("predictions.csv", fitset.prediction_frame().drop(columns="point_id", errors="ignore"), "predicted vs actual error (%)")]
    if len(curve_rows):
        tables.append(("curves.csv", curve_rows, "learning curves (normalised)"))
    if isinstance(backtest, pd.DataFrame):
        tables.append(("backtest.csv", backtest, "backtest: predictions for held-out runs"))
    if isinstance(in_sample, pd.DataFrame):
        tables.append(("predictions_in_sample.csv", in_sample, "in-sample predictions: these runs were fitted"))
    if train_rows is not None and len(train_rows):
        tables.append(("training.csv", train_rows, "training loss as logged: trunk and cool-down branches, per run"))
    if plan is not None and len(plan):
        tables.append(("compute_optimal.csv", plan, "joint law: compute-optimal N, D and error per budget "
                                                    "(fractions; budget in the cost's unit x samples)"))
    links = []
    for name, df, note in tables:
        _write_csv(out / name, df)
        links.append({"label": name, "href": name, "note": f"({note})"})
    return links


def _write_figures(out: Path, points, curve_rows, fitset: FitSet, default_dataset: str,
                   figure_datasets, figures, train_rows=None) -> tuple[list[dict], dict]:
    """PNG/PDF figures into out/figures: (links for the Files list, {dataset: {png, pdf}} for the plot)."""
    from clipscale.report import _figures

    folder = out / "figures"
    href = lambda p: "figures/" + quote(p.name)
    if figure_datasets is None:
        chosen = [default_dataset] if default_dataset else []
    else:
        chosen = sorted(set(points["panel"])) if list(figure_datasets) == [ALL] else list(figure_datasets)
    paths, per_dataset = [], {}
    method = fitset.methods[0] if fitset.methods else ""
    for dataset in chosen:
        pair = _figures.scaling_figure(points, fitset.laws, dataset, method, folder)
        per_dataset[dataset] = {p.suffix[1:]: href(p) for p in pair}
        paths += pair
    if len(curve_rows):
        paths += _figures.curves_figure(curve_rows, folder)
    if train_rows is not None and len(train_rows):
        paths += _figures.training_figure(train_rows, folder)
    for given in figures:
        paths.append(atomic_write_bytes(folder / Path(given).name, Path(given).read_bytes()))
    return [{"label": f"figures/{p.name}", "href": href(p), "note": ""} for p in paths], per_dataset
