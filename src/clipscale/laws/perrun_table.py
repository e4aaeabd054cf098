"""The per-run law on a results table: `fit_perrun_groups` (a `Fits`, one entry per group, every
group fitted together: they share the repetition decay R*) and `backtest_perrun` (fit each group on
its cheaper runs, predict the rest, one row per held-out run with its intervals).

N = `size_col` (the paper: `gmacs`, GMACs per sample), D = `data_col` (samples seen), U = the unique
samples of each row's training set: a column (`unique_col`) or a mapping from the values of
`unique_key` (default `upstream_dataset`) to U (`unique`; `PAPER_UNIQUE` for the paper's LAION sets).
E = 1 - the paper's default metric of each downstream dataset (a fraction), or `error_col`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from clipscale.errors import DataError, FitError
from clipscale.laws.collection import FitEntry, Fits, perrun_summary  # noqa: F401 (perrun_summary: its old home)
from clipscale.laws.noise import PAPER_UNIQUE  # noqa: F401 (re-exported: its home is laws.noise)
from clipscale.laws.perrun import N_BOOT, PerRunFit, fit_perrun
from clipscale.laws.split import Holdout
from clipscale.laws.table import ERROR, METRIC, prepare_table, resolve_group_by

DEFAULT_GROUP_BY = ("downstream_dataset",)
LEVELS = (0.5, 0.8, 0.9, 0.95)


def table_runs(df, *, size_col: str = "gmacs", data_col: str = "samples_seen", unique_col: str | None = None,
               unique: Mapping[str, float] | None = None, unique_key: str = "upstream_dataset",
               metric: str | None = None, error_col: str | None = None, group_by=DEFAULT_GROUP_BY,
               where=None) -> tuple[pd.DataFrame, list[str]]:
    """(rows with `_size`, `_data`, `_unique` (inf without U), `_error`, `_group` columns, group
    columns): the table checked and prepared for the per-run law."""
    if unique_col is not None and unique is not None:
        raise DataError("give unique_col (a column of unique samples) or unique (a mapping), not both")
    for col, flag in ((size_col, "--size-col"), (data_col, "--data-col"), (unique_col, "--unique-col"),
                      (unique_key if unique is not None else None, "--unique-key")):
        if col is not None and col not in df.columns:
            raise DataError(f"column {col!r} is not in the table; pass an existing column with {flag}")
    data = prepare_table(df, compute_col=size_col, metric=metric, error_col=error_col, where=where, wide=False)
    if data.empty:
        raise DataError(f"no rows left after where={where!r}; check the filter")
    keys = resolve_group_by(data, list(group_by) if group_by else None)
    out = data.assign(_size=pd.to_numeric(data[size_col], errors="coerce"),
                      _data=pd.to_numeric(data[data_col], errors="coerce"))
    if unique_col is not None:
        out["_unique"] = pd.to_numeric(out[unique_col], errors="coerce")
    elif unique is not None:
        missing = sorted(set(map(str, out[unique_key])) - set(map(str, unique)))
        if missing:
            raise DataError(f"no unique-sample count for {unique_key} {missing[:5]}; add them to the mapping "
                            f"(it has {sorted(map(str, unique))})")
        out["_unique"] = out[unique_key].astype(str).map({str(k): float(v) for k, v in unique.items()})
    else:
        out["_unique"] = np.inf
    out["_group"] = out[keys].astype(str).agg(", ".join, axis=1) if keys else "(all rows)"
    return out, keys


def _fit(rows: pd.DataFrame, has_unique: bool, **kw) -> PerRunFit:
    return fit_perrun(rows["_size"], rows["_data"], rows[ERROR], rows["_unique"] if has_unique else None,
                      group=rows["_group"], **kw)


def fit_perrun_groups(df, *, link: str = "logit", n_boot: int = N_BOOT, seed: int = 0, delta: float | None = None,
                      calibrate: bool = True, size_unit: str = "GMACs per sample", starts=None, **cols) -> Fits:
    """The per-run law of every group of a results table, fitted together, as a `Fits` (method
    'perrun', one entry per group holding that group's `PerRunFit`). `cols`: see `table_runs`; the
    other arguments: see `fit_perrun`."""
    rows, keys = table_runs(df, **cols)
    has_unique = bool(np.isfinite(rows["_unique"]).any())
    fit = _fit(rows, has_unique, link=link, n_boot=n_boot, seed=seed, delta=delta, calibrate=calibrate,
               size_unit=size_unit, starts=starts)
    fits = Fits(meta={"method": "perrun", "group_by": keys, "link": link, "n_boot": n_boot, "seed": seed,
                      "delta": delta, "decay": fit.decay, "scale": fit.scale, "growth": fit.growth,
                      **{k: v for k, v in cols.items() if isinstance(v, (str, type(None)))}})
    for lab, sub in rows.groupby("_group", sort=True):
        metrics = sub[METRIC].unique()
        one = fit.select(lab)
        fits.entries.append(FitEntry(group={k: sub[k].iloc[0] for k in keys}, method="perrun", n_points=len(sub),
                                     metric=metrics[0] if len(metrics) == 1 else "mixed", fit=one,
                                     message="; ".join(one.notes)))
    return fits


def backtest_perrun(df, *, holdout: Holdout = Holdout(top_frac=0.2), compute_col: str = "gmacs_total", link: str = "logit",
                    n_boot: int = N_BOOT, seed: int = 0, delta: float | None = None, calibrate: bool = True,
                    levels=LEVELS, keep=("upstream_dataset", "arch", "samples_seen"), starts=None,
                    **cols) -> tuple[pd.DataFrame, PerRunFit]:
    """Fit every group on the runs `holdout` keeps (by its `compute_col`: total compute, e.g. total
    GMACs) and predict the held-out runs: (one row per held-out run, the fit).
    Columns: the group columns, `keep`, compute, actual/predicted error in percent, the miss in
    error-% points, extrapolation_decades, lo/hi of each level in percent (lo90_error_pct, ...),
    inside_90."""
    rows, keys = table_runs(df, **cols)
    if compute_col not in rows.columns:
        raise DataError(f"column {compute_col!r} (total compute) is not in the table; pass one with --compute-col")
    rows = rows.assign(_compute=pd.to_numeric(rows[compute_col], errors="coerce"))
    train = pd.Series(False, index=rows.index)
    for _, sub in rows.groupby("_group"):
        train[sub.index] = holdout.train_mask(sub["_compute"].to_numpy(float))
    has_unique = bool(np.isfinite(rows["_unique"]).any())
    fit = _fit(rows[train], has_unique, link=link, n_boot=n_boot, seed=seed, delta=delta, calibrate=calibrate,
               starts=starts)
    return _held_frame(rows[~train], fit, keys, keep, levels, has_unique), fit


def _held_frame(held, fit, keys, keep, levels, has_unique) -> pd.DataFrame:
    parts = []
    for lab, sub in held.groupby("_group", sort=True):
        args = (sub["_size"].to_numpy(float), sub["_data"].to_numpy(float),
                sub["_unique"].to_numpy(float) if has_unique else None)
        part = sub[[c for c in dict.fromkeys(list(keys) + list(keep)) if c in sub.columns]].copy()
        part["compute"] = sub["_compute"].to_numpy(float)
        part["actual_error_pct"] = 100 * sub[ERROR].to_numpy(float)
        part["predicted_error_pct"] = 100 * fit.predict(*args, group=lab)
        part["abs_miss_pct_points"] = (part["predicted_error_pct"] - part["actual_error_pct"]).abs()
        part["extrapolation_decades"] = fit.extrapolation_decades(args[0], args[1], group=lab)
        if fit.boot.shape[1]:
            for lev in levels:
                lo, hi = fit.predict_interval(*args, group=lab, level=lev)
                tag = f"{100 * lev:g}"
                part[f"lo{tag}_error_pct"], part[f"hi{tag}_error_pct"] = 100 * lo, 100 * hi
            part["inside_90"] = part["actual_error_pct"].between(part["lo90_error_pct"], part["hi90_error_pct"])
        parts.append(part)
    if not parts:
        raise FitError("the split holds out no run; hold out more (e.g. --holdout-top-frac 0.2)")
    return pd.concat(parts, ignore_index=True)
