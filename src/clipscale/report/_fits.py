"""Scaling-law fits for the report: one per downstream dataset x group x fit method.

The fitting itself is clipscale.laws' (`fit`, `FitResult`); this module only asks for it, keeps the
reason when a group cannot be fitted (too few points, no spread) and samples each law on a compute
grid (total GMACs) with its confidence band so the browser can draw it without knowing the law's form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clipscale.errors import DataError, FitError, unknown
from clipscale.report._data import Problems
from clipscale.laws.methods import group_options

DEFAULT_METHODS = ("paper", "frontier", "saturating")
BAND_LEVEL = 0.95
_GRID_POINTS = 48
# The law is drawn from half the smallest to 10x the largest compute of the dataset, so the
# extrapolation the paper makes (its Fig. 1: one decade beyond the largest run) is visible.
_GRID_LOW, _GRID_HIGH = 0.5, 10.0


@dataclass
class FitSet:
    """Everything the report shows about fits (all errors are fractions, compute is total GMACs)."""

    laws: dict = field(default_factory=dict)      # dataset -> method -> group -> law (JSON-ready)
    coefficients: list = field(default_factory=list)  # rows of the coefficient table
    predictions: list = field(default_factory=list)   # rows: predicted vs actual error per point
    methods: tuple = DEFAULT_METHODS

    def coefficient_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.coefficients)

    def prediction_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.predictions)


def compute_fits(points: pd.DataFrame, *, methods=DEFAULT_METHODS, n_boot: int = 200, seed: int = 0) -> FitSet:
    """Fit every dataset x group x method with clipscale.laws.fit (bootstrap `n_boot` for the band)."""
    from clipscale import laws

    fitset = FitSet(methods=tuple(methods))
    for method in fitset.methods:  # an unknown method is the caller's mistake: fail before any work
        if method not in laws.METHODS:
            raise unknown("fit method", method, laws.METHODS, "choose from them (--methods a,b)")
    for (dataset, group), sub in points.groupby(["downstream_dataset", "group"], sort=True):
        compute, error = sub["compute"].to_numpy(float), sub["error"].to_numpy(float)
        for method in fitset.methods:
            opts = group_options(method, group)           # CLIP-WIT: not binned (the paper's rule)
            try:
                result = laws.fit(compute, error, method=method, n_boot=n_boot, seed=seed,
                                  label=f"({dataset}, {group})", **opts)
            except (FitError, DataError) as exc:
                _add_missing(fitset, dataset, group, method, len(sub), f"no fit: {exc}")
                continue
            _add_law(fitset, dataset, group, method, sub, result, points)
    return fitset


def fits_from_table(fits: pd.DataFrame, points: pd.DataFrame, problems: Problems) -> FitSet:
    """Use the caller's fit table (clipscale.laws.fit_table rows) instead of fitting again.

    A row is turned back into a FitResult: with `FitResult.from_dict` when it is a whole saved fit
    (then the band is drawn), else with `FitResult.from_row` (the law without a band).
    A table fitted per dataset only (no `group` column, as a study does) applies to all its points.
    """
    missing = [c for c in ("downstream_dataset", "alpha", "beta") if c not in fits.columns]
    if missing:
        problems.add(f"The fit table lacks the column(s) {', '.join(missing)}; no fitted laws are drawn.")
        return FitSet()
    rows = fits.to_dict("records")
    methods = tuple(dict.fromkeys(str(r.get("method", "given")) for r in rows))
    fitset = FitSet(methods=methods)
    for row in rows:
        dataset, method = str(row["downstream_dataset"]), str(row.get("method", "given"))
        sub = points[points["downstream_dataset"] == dataset]
        if "group" in row:
            group = str(row["group"])
            sub = sub[sub["group"] == group]
        else:
            groups = sub["group"].unique()
            group = str(groups[0]) if len(groups) == 1 else "all"
        result = _result_from_row(row)
        if result is None:
            reason = row.get("message") if row.get("status") == "failed" else "coefficients missing in the fit table"
            _add_missing(fitset, dataset, group, method, len(sub), f"no fit: {reason}")
            continue
        _add_law(fitset, dataset, group, method, sub, result, points)
    fitset.coefficients = rows  # the caller's table, shown as given
    return fitset


def _result_from_row(row: dict):
    clean = {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
    if "alpha" not in clean or "beta" not in clean or clean.get("status", "ok") != "ok":
        return None
    if clean.get("schema"):  # a FitResult.to_dict() row: rebuild it, bootstrap and all
        try:
            from clipscale.laws import FitResult

            return FitResult.from_dict(clean)
        except (ImportError, KeyError, TypeError, ValueError):
            pass
    from clipscale.laws import FitResult

    return FitResult.from_row(clean)     # drawn without a band; a logodds row stays a logodds law


def _add_missing(fitset: FitSet, dataset, group, method, n_points: int, reason: str) -> None:
    fitset.laws.setdefault(dataset, {}).setdefault(method, {})[group] = {"missing": reason, "n": n_points}
    fitset.coefficients.append({"downstream_dataset": dataset, "group": group, "method": method,
                                "n_points": n_points, "formula": "", "note": reason})


def _add_law(fitset: FitSet, dataset, group, method, sub: pd.DataFrame, result, points: pd.DataFrame) -> None:
    every = points.loc[points["downstream_dataset"] == dataset, "compute"]
    span = every if len(every) else sub["compute"]
    grid = _possible(result, np.geomspace(span.min() * _GRID_LOW, span.max() * _GRID_HIGH, _GRID_POINTS))
    law = {"formula": _formula(result), "n": int(len(sub)), "x": grid.tolist(),
           "y": _finite(result.predict(grid)), "notes": list(getattr(result, "notes", ()))}
    band = _band(result, grid)
    if band is not None:
        law["lo"], law["hi"] = band
    law.update(_scalars(result))
    fitset.laws.setdefault(dataset, {}).setdefault(method, {})[group] = law
    fitset.coefficients.append({"downstream_dataset": dataset, "group": group, "method": method,
                                "n_points": int(len(sub)), **_scalars(result), **_ci(result),
                                "formula": law["formula"], "note": "; ".join(law["notes"])})
    predicted = np.asarray(result.predict(sub["compute"].to_numpy(float)), float)
    for (point_id, row), pred in zip(sub.iterrows(), predicted):
        fitset.predictions.append({
            "point_id": int(point_id), "downstream_dataset": dataset, "group": group, "method": method, "name": row["name"],
            "arch": row["arch"], "data": row["data"], "samples_seen": row["samples_pretty"],
            "gmacs_total": row["compute"], "actual_error_pct": 100 * row["error"],
            "predicted_error_pct": 100 * pred, "residual_pct_points": 100 * (pred - row["error"])})


def _possible(result, grid: np.ndarray) -> np.ndarray:
    """The part of the grid where the law predicts an error of at most 100%: a steep law
    extrapolated to small compute would otherwise be drawn above any possible error."""
    with np.errstate(all="ignore"):
        keep = np.asarray(result.predict(grid), float) <= 1.0
    return grid[keep] if keep.sum() >= 2 else grid


def _formula(result) -> str:
    formula = getattr(result, "formula", None)
    return str(formula() if callable(formula) else formula or "")


def _band(result, grid):
    interval = getattr(result, "predict_interval", None)
    if interval is None:
        return None
    try:
        lo, hi = interval(grid, BAND_LEVEL, kind="confidence")
    except FitError:  # fitted without bootstrap resamples (n_boot=0): no band to draw
        return None
    return _finite(lo), _finite(hi)


def _scalars(result) -> dict:
    out = {}
    for key in ("alpha", "beta", "e_inf", "r2"):
        value = getattr(result, key, None)
        out[key] = float(value) if value is not None and np.isfinite(value) else None
    return out


def _ci(result) -> dict:
    """Flatten `ci` ({name: (lo, hi)}) into name_lo / name_hi columns."""
    ci = getattr(result, "ci", None)
    out = {}
    if isinstance(ci, dict):
        for key, pair in ci.items():
            try:
                lo, hi = pair
            except (TypeError, ValueError):
                continue
            out[f"{key}_lo"], out[f"{key}_hi"] = _num(lo), _num(hi)
    return out


def _num(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _finite(values) -> list:
    return [v if math.isfinite(v) else None for v in np.asarray(values, float).tolist()]


def holdout_backtest(points: pd.DataFrame, problems: Problems, *, methods=DEFAULT_METHODS,
                     holdout: int = 1) -> pd.DataFrame:
    """Fit each dataset x group x method without its `holdout` most expensive runs, predict them.

    One row per held-out run: actual and predicted error in percent and the miss in error-percentage
    points (clipscale.laws.backtest, no bootstrap). Groups too small to leave a fit are skipped and counted.
    """
    from clipscale import laws

    rows, skipped = [], 0
    for (dataset, group), sub in points.groupby(["downstream_dataset", "group"], sort=True):
        compute, error = sub["compute"].to_numpy(float), sub["error"].to_numpy(float)
        for method in methods:
            opts = group_options(method, group)
            try:
                bt = laws.backtest(compute, error, method, holdout_top=holdout, label=f"({dataset}, {group})", **opts)
            except (FitError, DataError):
                skipped += 1
                continue
            frame = bt.held_out_frame(sub.reset_index(drop=True), keep=("name", "arch", "data", "samples_pretty"))
            frame.insert(0, "downstream_dataset", dataset)
            frame.insert(1, "group", group)
            rows.append(frame)
    if skipped:
        problems.add(f"Backtest: {skipped} dataset / group / method combinations have too few runs to fit "
                     f"after holding out the {holdout} most expensive, and are not in the backtest table.")
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
