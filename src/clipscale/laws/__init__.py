"""Scaling-law fitting: `fit` (arrays), `fit_table` (a results table), `backtest`,
`compare_methods` / `compare_table` (methods side by side on one backtest split).

Laws: E = beta * C^alpha (+ e_inf), C = compute (the column's unit, by default total GMACs),
E = error as a fraction (1 - metric). Methods are registered in `METHODS`:
paper, ls, frontier, saturating.
"""
from __future__ import annotations

from clipscale.laws.fit import fit
from clipscale.laws.methods import METHODS, LawMethod
from clipscale.laws.result import FitResult
from clipscale.laws.table import fit_table, prepare_table
from clipscale.laws.backtest import BacktestResult, backtest, compare_methods, compare_table

__all__ = ["fit", "fit_table", "prepare_table", "backtest", "compare_methods", "FitResult",
           "BacktestResult", "compare_table", "METHODS", "LawMethod"]
