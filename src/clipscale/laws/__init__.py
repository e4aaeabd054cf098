"""Scaling-law fitting: `fit` (arrays), `fit_table` (a results table), `backtest`,
`compare_methods` / `compare_table` (methods side by side on one backtest split).

Laws: E = coef * C^alpha (+ floor), C = compute (the column's unit, by default total GMACs),
E = error as a fraction (1 - metric). Methods are registered in `METHODS`
(laws.defaults.FRONTIER_METHOD, 'auto', is the recommended one).
The joint law E(N, D) = floor + A/N^size_exp + B/D^data_exp: `fit_joint` -> `JointFit`;
compute-optimal allocation: `JointFit.optimal` with a `LogLogCost` per-sample cost.
Per-run laws (one run's error from N, D and the unique samples U) are registered in `PER_RUN_LAWS`;
the recommended one (laws.defaults.PER_RUN_LAW) is E(N, D, U): `fit_perrun` -> `PerRunFit`,
`fit_perrun_groups` (a table). `backtest_heldout` predicts a table's held-out runs (frontier or
per-run target) and measures how often the intervals hold them.
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
from clipscale.laws.perrun import PerRunFit, fit_perrun
from clipscale.laws.perrun_table import backtest_perrun, fit_perrun_groups
from clipscale.laws.perrun_laws import PER_RUN_LAWS, PerRunLaw
from clipscale.laws.heldout import HeldOut, backtest_heldout

__all__ = ["fit", "fit_table", "prepare_table", "backtest", "compare_methods", "FitResult",
           "BacktestResult", "compare_table", "METHODS", "LawMethod", "JointFit", "fit_joint", "LogLogCost",
           "backtest_table", "backtest_groups", "fit_groups", "Fits", "FitEntry", "Holdout",
           "PerRunFit", "fit_perrun", "fit_perrun_groups", "backtest_perrun", "PER_RUN_LAWS", "PerRunLaw",
           "HeldOut", "backtest_heldout"]
