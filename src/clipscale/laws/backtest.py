"""Backtests: fit on the cheaper runs, predict the most expensive ones, report the miss.

The miss is the absolute error in error-percentage points: |predicted - actual| x 100 with errors
as fractions (the paper's prediction figures use the same unit). The 90% interval of each held-out
run is the fit's (laws.calibrate.new_run_interval: calibrated for 'auto'), and `on_frontier` marks
the held-out runs a frontier law claims to predict (Holdout.judged_mask).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd

from clipscale.errors import ClipscaleError, DataError, FitError
from clipscale.laws.calibrate import new_run_interval
from clipscale.laws.defaults import SEED
from clipscale.laws.recommended import fit_law
from clipscale.laws.result import FitResult
from clipscale.laws.split import Holdout


#: the columns of every held-out backtest table (report, study, paper): errors in percent, the miss
#: in error-percentage points, compute in the fitted column's unit (total GMACs by default);
#: on_frontier: the run lies on its group's compute frontier (what a frontier law predicts)
BACKTEST_COLUMNS = ("compute", "actual_error_pct", "predicted_error_pct", "abs_miss_pct_points", "n_train",
                    "method", "formula", "lo90_error_pct", "hi90_error_pct", "inside_90", "on_frontier")


@dataclasses.dataclass
class BacktestResult:
    """A fit on the training runs and its predictions for the held-out runs (errors as fractions)."""

    fit: FitResult
    train: np.ndarray  # boolean mask over the input runs
    compute: np.ndarray  # held-out compute
    actual: np.ndarray  # held-out error
    predicted: np.ndarray
    #: over the held-out runs: the ones a frontier law is judged on (Holdout.judged_mask)
    judged: np.ndarray | None = None

    @property
    def n_heldout(self) -> int:
        return int(len(self.actual))

    @property
    def abs_err_pct(self) -> np.ndarray:
        """|predicted - actual| per held-out run, in error-percentage points."""
        return np.abs(self.predicted - self.actual) * 100.0

    def held_out_frame(self, runs: pd.DataFrame | None = None, keep=()) -> pd.DataFrame:
        """One row per held-out run in the shared backtest columns (BACKTEST_COLUMNS), after the
        `keep` columns of `runs` (the input rows, in input order: e.g. run name, arch)."""
        out = pd.DataFrame({"compute": self.compute, "actual_error_pct": 100 * self.actual,
                            "predicted_error_pct": 100 * self.predicted,
                            "abs_miss_pct_points": self.abs_err_pct, "n_train": int(self.train.sum()),
                            "method": self.fit.method, "formula": self.fit.formula()})
        try:  # the law's 90% interval: where a new run should land (calibrated for 'auto')
            lo, hi = new_run_interval(self.fit, self.compute, 0.9)
            out["lo90_error_pct"], out["hi90_error_pct"] = 100 * lo, 100 * hi
            out["inside_90"] = (self.actual >= lo) & (self.actual <= hi)
        except ClipscaleError:  # no bootstrap (n_boot=0): no interval to check against
            out["lo90_error_pct"] = out["hi90_error_pct"] = np.nan
            out["inside_90"] = pd.NA
        out["on_frontier"] = self.judged if self.judged is not None else pd.NA
        if runs is not None and keep:
            held = runs.loc[~self.train, [c for c in keep if c in runs.columns]].reset_index(drop=True)
            out = pd.concat([held, out], axis=1)
        return out

    @property
    def mae_pct(self) -> float:
        """Mean absolute error over the held-out runs, in error-percentage points."""
        return float(self.abs_err_pct.mean())


def backtest(compute, error, method: str = "paper", *, holdout: Holdout, n_boot: int = 0, seed: int = SEED,
             label: str | None = None, n_test=None, **opts) -> BacktestResult:
    """Fit `method` on the runs `holdout` keeps (the cheaper ones) and predict the held-out runs;
    `n_test`: the test images of each run (one number or one per run), for a calibrated method."""
    c = np.asarray(compute, dtype=float)
    e = np.asarray(error, dtype=float)
    train = holdout.train_mask(c, e)
    if train.all():
        raise DataError(f"{holdout.describe()}: no run is above it (largest compute {c.max():g}); lower it")
    where = f" in group {label}" if label else ""
    if not train.any():
        raise DataError(f"{holdout.describe()}: no run is left to fit{where}; raise it")
    n_fit = None if n_test is None or np.ndim(n_test) == 0 else np.asarray(n_test, dtype=float)[train]
    res = fit_law(c[train], e[train], method, n_test=n_test if n_fit is None else n_fit, n_boot=n_boot, seed=seed,
                  label=(label or "") + " (backtest training runs)", **opts)
    return BacktestResult(fit=res, train=train, compute=c[~train], actual=e[~train],
                          predicted=res.predict(c[~train]), judged=holdout.judged_mask(c, e)[~train])


def compare_methods(compute, error, methods: Sequence[str] = ("paper", "ls", "frontier", "auto"), *,
                    holdout: Holdout, options: dict[str, dict] | None = None) -> pd.DataFrame:
    """Backtest several methods on the same split; one row per method (MAE in error-% points)."""
    rows = []
    for name in methods:
        row = {"method": name}
        try:
            bt = backtest(compute, error, name, holdout=holdout, **(options or {}).get(name, {}))
            row.update(n_train=int(bt.train.sum()), n_heldout=bt.n_heldout, mae_pct=bt.mae_pct,
                       max_abs_err_pct=float(bt.abs_err_pct.max()), alpha=bt.fit.alpha, coef=bt.fit.coef,
                       floor=bt.fit.floor, formula=bt.fit.formula(), status="ok", message="; ".join(bt.fit.notes))
        except (ClipscaleError, FitError) as exc:
            row.update(status="failed", message=str(exc))
        rows.append(row)
    columns = ["method", "n_train", "n_heldout", "mae_pct", "max_abs_err_pct", "alpha", "coef", "floor",
               "formula", "status", "message"]
    table = pd.DataFrame(rows).reindex(columns=columns)
    return table.astype({"n_train": "Int64", "n_heldout": "Int64"})
