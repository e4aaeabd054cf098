"""Scaling-law fitting: `fit` (arrays), `fit_table` (a results table), `backtest`,
`compare_methods` / `compare_table` (methods side by side on one backtest split).

Laws: E = coef * C^alpha (+ floor), C = compute (the column's unit, by default total GMACs),
E = error as a fraction (1 - metric). Methods are registered in `METHODS`:
paper, ls, frontier, saturating, logodds (E/(1-E) = coef * C^alpha), logodds-sat
(E/(1-E) = coef * C^alpha + k).
The joint law E(N, D) = floor + A/N^size_exp + B/D^data_exp: `fit_joint` -> `JointFit`;
compute-optimal allocation: `JointFit.optimal` with a `LogLogCost` per-sample cost.
Every fit of a table is a `Fits` (fit_groups; fits.json beside fits.csv): the report, a study's
summary and `clipscale plan` read it back instead of fitting again.
"""
from __future__ import annotations

from clipscale.laws.fit import fit
from clipscale.laws.split import Holdout
from clipscale.laws.methods import METHODS, LawMethod
from clipscale.laws.result import FitResult
from clipscale.laws.collection import FitEntry, Fits
from clipscale.laws.table import (backtest_groups, backtest_table, compare_table, fit_groups, fit_table,
                                  prepare_table)
from clipscale.laws.backtest import BacktestResult, backtest, compare_methods
from clipscale.laws.joint import JointFit, fit_joint
from clipscale.laws.allocate import LogLogCost

__all__ = ["fit", "fit_table", "prepare_table", "backtest", "compare_methods", "FitResult",
           "BacktestResult", "compare_table", "METHODS", "LawMethod", "JointFit", "fit_joint", "LogLogCost",
           "backtest_table", "backtest_groups", "fit_groups", "Fits", "FitEntry", "Holdout"]
