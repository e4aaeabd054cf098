"""The report's view of the scaling-law fits: one law per plot (`panel`), group and fit method.

Nothing here fits a law: the fits are clipscale.laws' (a `Fits`, read back from a fits.json, or
fitted by `fit_results` through `laws.fit_groups`, the same call `clipscale fit` makes). This module
maps each fit onto the report's points, keeps the reason when a group could not be fitted and
samples each law on a compute grid (total GMACs) with its confidence band, so the browser can draw
it without knowing the law's form. Joint-law fits are kept apart for their own section.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clipscale.errors import FitError, unknown
from clipscale.laws.defaults import FRONTIER_METHOD, N_BOOT, SEED
from clipscale.laws.result import LEGACY_NAMES, renamed
from clipscale.report._data import Problems, panel_name
from clipscale.schema import EVAL_KIND_COL

#: the recommended frontier law first (the page shows it first and states its answer), then the paper's
DEFAULT_METHODS = (FRONTIER_METHOD, "paper")
BAND_LEVEL = 0.95
_GRID_POINTS = 48
# The law is drawn from half the smallest to 10x the largest compute of the dataset, so the
# extrapolation the paper makes (its Fig. 1: one decade beyond the largest run) is visible.
_GRID_LOW, _GRID_HIGH = 0.5, 10.0
# Group keys matched against the points' columns of the same name (upstream_dataset is `data` there).
_POINT_KEYS = {"downstream_dataset": "downstream_dataset", EVAL_KIND_COL: EVAL_KIND_COL, "group": "group",
               "arch": "arch", "upstream_dataset": "data", "name": "name"}


@dataclass
class FitSet:
    """Everything the report shows about fits (all errors are fractions, compute is total GMACs)."""

    laws: dict = field(default_factory=dict)      # panel -> method -> group -> law (JSON-ready)
    coefficients: list = field(default_factory=list)  # rows of the coefficient table
    predictions: list = field(default_factory=list)   # rows: predicted vs actual error per point
    methods: tuple = DEFAULT_METHODS
    joint: list = field(default_factory=list)     # joint-law FitEntry objects (their own section)
    results: dict = field(default_factory=dict)   # (panel, method, group) -> the FitResult (not JSON)

    def coefficient_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.coefficients)

    def prediction_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.predictions)


def fit_results(results: pd.DataFrame, *, methods=DEFAULT_METHODS, n_boot: int = N_BOOT, seed: int = SEED):
    """Every downstream dataset x group (x evaluation type, where a dataset mixes them) x method,
    fitted by clipscale.laws.fit_groups with `n_boot` bootstrap resamples (for the band): a `Fits`."""
    from clipscale import laws

    for method in methods:  # an unknown method is the caller's mistake: fail before any work
        if method not in laws.METHODS:
            raise unknown("fit method", method, laws.METHODS, "choose from them (--methods a,b)")
    fits = laws.Fits()
    for method in methods:
        fits = fits + laws.fit_groups(results, method=method, n_boot=n_boot, seed=seed, bad="drop",
                                      wide=False)
    return fits


def from_fits(fits, points: pd.DataFrame, *, shown: list | None = None) -> FitSet:
    """The report's FitSet from a clipscale.laws `Fits`: each entry's law drawn over the points of
    its group (the dataset, evaluation type and paper group it was fitted on), a failed entry named
    with its reason. `shown`: coefficient rows to show as given (a fit table the caller passed)."""
    methods = tuple(dict.fromkeys(e.method for e in fits.entries if e.method != "joint"))
    fitset = FitSet(methods=methods)
    for entry in fits.entries:
        if entry.method == "joint":
            fitset.joint.append(entry)
            continue
        sub = _points_of(entry.group, points)
        panels = sorted(set(sub["panel"])) or [panel_name(entry.group.get("downstream_dataset", "all rows"),
                                                          entry.group.get(EVAL_KIND_COL))]
        for panel in panels:
            part = sub[sub["panel"] == panel]
            label = _label(entry.group, part)
            if not entry.ok:
                _add_missing(fitset, panel, label, entry.method, entry.n_points, f"no fit: {entry.message}")
            else:
                _add_law(fitset, panel, label, entry.method, part, entry.fit, points, entry.extra)
    if shown is not None:
        fitset.coefficients = shown
    return fitset


def _points_of(group: dict, points: pd.DataFrame) -> pd.DataFrame:
    keep = pd.Series(True, index=points.index)
    for key, value in group.items():
        col = _POINT_KEYS.get(key)
        if col is not None and col in points.columns:
            keep &= points[col].astype(str) == str(value)
    return points[keep]


def _label(group: dict, part: pd.DataFrame) -> str:
    """The law's name within its plot: its paper group (or other group values), else the points'."""
    rest = [str(v) for k, v in group.items() if k not in ("downstream_dataset", EVAL_KIND_COL)]
    if rest:
        return ", ".join(rest)
    groups = part["group"].unique() if len(part) else []
    return str(groups[0]) if len(groups) == 1 else "all"


def fits_from_table(fits: pd.DataFrame, points: pd.DataFrame, problems: Problems) -> FitSet:
    """Use the caller's fit table (clipscale.laws.fit_table rows, fits.csv) instead of fitting again.

    A row is turned back into a FitResult: with `FitResult.from_dict` when it is a whole saved fit
    (then the band is drawn), else with `FitResult.from_row` (the law without a band; pass the
    fits.json written beside fits.csv to get the bands). A table fitted per dataset only (no
    `group` column, as a study does) applies to all its points.
    """
    from clipscale.laws import FitEntry, Fits

    columns = renamed(dict.fromkeys(fits.columns), LEGACY_NAMES)  # an older fits.csv: beta, e_inf
    missing = [c for c in ("downstream_dataset", "alpha", "coef") if c not in columns]
    if missing:
        problems.add(f"The fit table lacks the column(s) {', '.join(missing)}; no fitted laws are drawn.")
        return FitSet()
    rows = fits.to_dict("records")
    entries = []
    for row in rows:
        if row.get("method") == "joint":  # a joint law is read back from fits.json only
            continue
        group = {k: row[k] for k in ("downstream_dataset", "group", EVAL_KIND_COL) if k in row and not _nan(row[k])}
        result = _result_from_row(row)
        reason = row.get("message") if row.get("status") == "failed" else "coefficients missing in the fit table"
        entries.append(FitEntry(group=group, method=str(row.get("method", "given")),
                                n_points=int(row.get("n_points") or 0) if not _nan(row.get("n_points")) else 0,
                                fit=result, status="ok" if result is not None else "failed",
                                message="" if result is not None else str(reason),
                                extra={"headline": row["headline"]} if "headline" in row else {}))
    return from_fits(Fits(entries), points, shown=rows)


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _result_from_row(row: dict):
    clean = {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
    if "alpha" not in clean or not {"coef", "beta"} & set(clean) or clean.get("status", "ok") != "ok":
        return None
    from clipscale.laws import FitResult

    return FitResult.from_row(clean)     # drawn without a band; a logodds row stays a logodds law


def _add_missing(fitset: FitSet, panel, group, method, n_points: int, reason: str) -> None:
    fitset.laws.setdefault(panel, {}).setdefault(method, {})[group] = {"missing": reason, "n": n_points}
    fitset.coefficients.append({"downstream_dataset": panel, "group": group, "method": method,
                                "n_points": n_points, "formula": "", "note": reason})


def _add_law(fitset: FitSet, panel, group, method, sub: pd.DataFrame, result, points: pd.DataFrame,
             extra: dict | None = None) -> None:
    """Sample the law over its panel's compute range (with its band) and add its coefficient and
    prediction rows; `panel` is the report's plot (the dataset, with a non-zero-shot evaluation type).
    A law the runs do not support (report._trust: not learned yet, not identified, too few points) is
    neither drawn nor tabulated: its verdict is shown instead."""
    from clipscale.report._trust import clip_error, fitted_point_ids, frontier_trust

    fitset.results[(panel, method, group)] = result
    verdict = frontier_trust(result, sub)
    flags = {k: v for k, v in (extra or {}).items() if k == "headline"}
    if not verdict.ok:
        fitset.laws.setdefault(panel, {}).setdefault(method, {})[group] = {
            "untrusted": verdict.status, "reason": verdict.reason, "n": int(len(sub)), "formula": _formula(result)}
        fitset.coefficients.append({"downstream_dataset": panel, "group": group, "method": method,
                                    "n_points": int(len(sub)), "formula": "", "note": verdict.line("law"), **flags})
        return
    every = points.loc[points["panel"] == panel, "compute"]
    span = every if len(every) else sub["compute"]
    grid = _possible(result, np.geomspace(span.min() * _GRID_LOW, span.max() * _GRID_HIGH, _GRID_POINTS))
    law = {"formula": _formula(result), "n": int(len(sub)), "x": grid.tolist(),
           "y": clip_error(result.predict(grid)), "notes": list(getattr(result, "notes", ())),
           "fitted": fitted_point_ids(result, sub)}
    band = _band(result, grid)
    if band is not None:
        law["lo"], law["hi"] = (clip_error(b) for b in band)
    law.update(_scalars(result))
    ci = _ci(result)
    law["alpha_ci"] = [ci.get("alpha_lo"), ci.get("alpha_hi")]
    fitset.laws.setdefault(panel, {}).setdefault(method, {})[group] = law
    fitset.coefficients.append({"downstream_dataset": panel, "group": group, "method": method,
                                "n_points": int(len(sub)), **_scalars(result), **_ci(result),
                                "formula": law["formula"], "note": "; ".join(law["notes"]), **flags})
    predicted = np.asarray(clip_error(result.predict(sub["compute"].to_numpy(float))), float)
    for (point_id, row), pred in zip(sub.iterrows(), predicted):
        fitset.predictions.append({
            "point_id": int(point_id), "downstream_dataset": panel, "group": group, "method": method, "name": row["name"],
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
    return np.asarray(lo, float).tolist(), np.asarray(hi, float).tolist()


def _scalars(result) -> dict:
    """The law's parameters and R^2 (None where it has none; NaN becomes null in JSON, empty in CSV)."""
    return {key: None if getattr(result, key, None) is None else float(getattr(result, key))
            for key in ("alpha", "coef", "floor", "r2")}


def _ci(result) -> dict:
    """Flatten `ci` ({name: (lo, hi)}) into name_lo / name_hi columns."""
    ci = getattr(result, "ci", None)
    out = {}
    if isinstance(ci, dict):
        for key, pair in ci.items():
            out[f"{key}_lo"], out[f"{key}_hi"] = (None if v is None else float(v) for v in pair)
    return out
