"""The design's one door to clipscale.laws: fit the frontier law, predict, and give its interval.

Every use of the laws API by the design lives here, so that a renamed field or a new recommended
method changes one file. Errors are fractions; intervals are returned in error-% points.
"""
from __future__ import annotations

import numpy as np

from clipscale.errors import FitError
from clipscale.laws import METHODS, FitResult
from clipscale.laws.calibrate import new_run_interval
from clipscale.laws.defaults import FRONTIER_METHOD
from clipscale.laws.methods import get as get_method
from clipscale.laws.recommended import fit_law as _fit_law

#: The law the design pins down: the recommended frontier law (laws.defaults.FRONTIER_METHOD, its
#: one home).
DEFAULT_METHOD = FRONTIER_METHOD


def check_method(method: str) -> None:
    """Raise NotFoundError (listing the valid methods) when `method` is not a registered law method."""
    get_method(method)


def method_names() -> list[str]:
    return sorted(METHODS)


def fits_frontier(method: str) -> bool:
    """True when the method fits only the Pareto frontier of its points (a typed trait of the method)."""
    return bool(get_method(method).frontier)


def fit_law(compute, error, method: str, *, n_boot: int, seed: int) -> FitResult | None:
    """The law fitted to runs (compute in total GMACs, error as fractions), or None when these runs
    cannot identify it (too few points, a frontier of one point, no spread in compute)."""
    try:  # resamples that cannot be fitted overflow on their way to being dropped: not news here
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _fit_law(np.asarray(compute, float), np.asarray(error, float), method, n_boot=n_boot, seed=seed)
    except FitError:
        return None


def predict(law: FitResult, compute) -> np.ndarray:
    """Predicted error (fractions) at `compute` (total GMACs)."""
    return np.asarray(law.predict(compute), float)


def interval_pct(law: FitResult, compute, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The law's `level` interval of a new run (laws.calibrate.new_run_interval: calibrated for
    'auto', else bootstrap + scatter) at `compute`, as (lo, hi) in error-% points."""
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi = new_run_interval(law, compute, level)
    return 100.0 * np.asarray(lo, float), 100.0 * np.asarray(hi, float)


def prepare(table, *, compute_col: str, where, group_by):
    """The results table (path or DataFrame) filtered by `where`, with the law's compute and error
    columns (returned as their names) and the group columns (default: the laws' default grouping).
    Rows that cannot be fitted (error 0, a missing metric) are dropped and counted in
    `attrs["dropped"]`. Returns (frame, group columns, compute column, error column)."""
    from clipscale.laws.table import COMPUTE, DEFAULT_GROUP_BY, ERROR, prepare_table, resolve_group_by

    data = prepare_table(table, compute_col=compute_col, where=where, bad="drop")
    keys = resolve_group_by(data, DEFAULT_GROUP_BY if group_by is None else group_by)
    return data, keys, COMPUTE, ERROR
