"""The joint law per group of a results table: `fit_joint_groups` (a `Fits`), `fit_joint_table`,
the fits file `plan` reads (`load_fits`) and the compute-optimal plan per budget (`plan_rows`).

N = `size_col` (parameters, or per-sample GMACs: say which with `size_unit`), D = `data_col`
(samples seen), E = 1 - metric (a fraction) or `error_col` (any positive loss). The per-sample
cost for compute-optimal allocation comes from `cost_col` (per-sample GMACs of the rows, e.g. the
paper's `gmacs`), interpolated in log-log between the sizes present; with `cost_factor` instead,
cost = factor x N (6 for Chinchilla's C = 6 N D); with neither, N is itself the per-sample cost.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clipscale.errors import DataError
from clipscale.laws.allocate import LogLogCost
from clipscale.laws.collection import FitEntry, Fits, joint_summary
from clipscale.laws.joint import fit_joint
from clipscale.laws.table import ERROR, METRIC, iter_groups, need_column, prepare_table, read_table, resolve_group_by
from clipscale.laws.defaults import N_BOOT, SEED
from clipscale.laws.split import Holdout

summary = joint_summary  # the fits.csv columns of a joint fit (clipscale.laws.collection)


def fit_joint_table(df, **kwargs) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """(one summary row per group, the fitted groups as `load_fits` gives them); see
    `fit_joint_groups` for the arguments."""
    fits = fit_joint_groups(df, **kwargs)
    return fits.frame(), [joint_view(e) for e in fits.select(ok=True)]


def fit_joint_groups(df, *, size_col: str, data_col: str, metric: str | None = None,
                     error_col: str | None = None, group_by=None, where=None, n_boot: int = N_BOOT,
                     seed: int = SEED, delta: float = 1e-3, size_unit: str = "parameters",
                     cost_col: str | None = None, cost_factor: float | None = None,
                     holdout: Holdout | None = None, name_col: str | None = None,
                     errors: str = "row", starts=None) -> Fits:
    """The joint law per group, as a `Fits` (method 'joint'; saved as fits.json, `clipscale plan`
    reads it). A group that cannot be fitted gives an entry with status 'failed' and the reason in
    `message` (errors='raise' raises). `starts`: the grid of starts (default Hoffmann et al.'s 4,500)."""
    if isinstance(df, (str, Path)):
        df = read_table(df)
    for col, what, flag in ((size_col, "model size: parameters or per-sample GMACs", "--size-col"),
                            (data_col, "data size: samples seen", "--data-col"),
                            (cost_col, "per-sample cost in GMACs", "--cost-col")):
        if col is None:
            continue
        need_column(df, col, what, flag)
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise DataError(f"column {col!r} ({what}) is not numeric (e.g. {df[col].iloc[0]!r}); "
                            f"pass a column of numbers with {flag}")
    data = prepare_table(df, compute_col=size_col, metric=metric, error_col=error_col, where=where, wide=False)
    keys = resolve_group_by(data, group_by)
    fits = Fits(meta={"size_col": size_col, "data_col": data_col, "size_unit": size_unit, "group_by": keys,
                      "method": "joint", "n_boot": n_boot, "seed": seed, "delta": delta})
    for group, label, sub in iter_groups(data, keys):
        metrics = sub[METRIC].unique()
        entry = FitEntry(group=group, method="joint", n_points=len(sub), error_col=error_col or "",
                         metric=metrics[0] if len(metrics) == 1 else "mixed")
        with fits.recording(entry, errors):
            cost = _cost(sub, size_col, cost_col, cost_factor)
            n, d, e = (sub[c].to_numpy(float) for c in (size_col, data_col, ERROR))
            fit = fit_joint(n, d, e, delta=delta, n_boot=n_boot, seed=seed, label=label, size_unit=size_unit,
                            starts=starts, bounded=error_col is None)  # 1 - metric: a fraction
            if holdout is not None:
                entry.backtest = _backtest(n, d, e, cost, holdout, delta, label, size_unit)
            entry.fit, entry.message = fit, "; ".join(fit.notes)
            entry.extra = {"cost": {"sizes": list(cost.sizes), "costs": list(cost.costs),
                                    "unit": "per-sample cost (GMACs)" if cost_col else
                                    f"{cost_factor} x N" if cost_factor is not None
                                    else "N (the size is the per-sample cost)"},
                           "architectures": _architectures(sub, size_col, name_col)}
    return fits


def _backtest(n, d, e, cost, holdout: Holdout, delta, label, size_unit) -> dict[str, Any]:
    """Fit on the cheaper runs (compute = cost(N) x D), predict the rest. backtest_mae is in the
    error column's unit (error-percentage points x 0.01 for fractions: see backtest_mae_pct)."""
    comp = cost(n) * d
    train = holdout.train_mask(comp)
    if train.all() or not train.any():
        raise DataError(f"the backtest split of group {label} holds out {'no' if train.all() else 'every'} run; "
                        "change --holdout-*")
    res = fit_joint(n[train], d[train], e[train], delta=delta, n_boot=0, label=label + " (backtest training runs)",
                    size_unit=size_unit)
    miss = np.abs(res.predict(n[~train], d[~train]) - e[~train])
    return {"backtest_mae": float(miss.mean()), "backtest_mae_pct": float(miss.mean() * 100),
            "backtest_n_heldout": int((~train).sum()), "backtest_n_train": int(train.sum())}


def _cost(sub, size_col, cost_col, cost_factor) -> LogLogCost:
    if cost_factor is not None:
        return LogLogCost.linear(float(cost_factor))
    if cost_col is None:
        return LogLogCost.linear(1.0)            # size is itself the per-sample cost (e.g. GMACs)
    pairs = sub.groupby(size_col)[cost_col].median()
    return LogLogCost.from_pairs(pairs.index.to_numpy(float), pairs.to_numpy(float))


def _architectures(sub, size_col, name_col) -> list[dict[str, Any]]:
    col = name_col or next((c for c in ("arch", "model", "name") if c in sub.columns), None)
    if col is None:
        return []
    pairs = sub.groupby(col)[size_col].median()
    return [{"name": str(k), "size": float(v)} for k, v in pairs.items()]


def save_fits(path, entries, meta: dict[str, Any] | None = None) -> Path:
    """Write a fits file (fits.json, atomically) that `clipscale plan --fit` reads: a `Fits`, or the
    entries `fit_joint_table` returns."""
    fits = entries if isinstance(entries, Fits) else Fits([e["entry"] for e in entries])
    fits.meta.update(meta or {})
    return fits.save(path)


def load_fits(path) -> list[dict[str, Any]]:
    """The joint-law entries of a fits file (fits.json of any methods, or the older joint-only file):
    each a dict with group, fit (a JointFit), cost (a LogLogCost), cost_unit, architectures, entry."""
    views = [joint_view(e) for e in Fits.load(path).select("joint", ok=True)]
    if not views:
        raise DataError(f"{path} holds no joint-law fit; write one with `clipscale fit TABLE --method joint "
                        "--size-col COL --data-col COL --save-fits FITS.json`")
    return views


def joint_view(e: FitEntry) -> dict[str, Any]:
    """A joint-law entry as `plan_rows` and `clipscale plan` read it: group, fit, cost (a LogLogCost),
    cost_unit, architectures and the entry itself."""
    return {"group": e.group, "fit": e.fit, "cost": e.cost(), "cost_unit": e.extra.get("cost", {}).get("unit", ""),
            "architectures": e.extra.get("architectures") or [], "entry": e}


def plan_rows(entries, budgets, level: float = 0.95) -> list[dict[str, Any]]:
    """One row per fitted group x budget (total compute, the cost's unit): N_opt, D_opt, E_opt with
    bands at `level`, the interval of a new run's E at that (N, D) (E_pred_lo/hi), the nearest
    trained architecture (in log size) and `extrapolation_decades` (0 inside the fitted runs' compute).
    `entries`: what `load_fits` returns."""
    rows = []
    for ent in entries:
        fit, cost = ent["fit"], ent["cost"]
        for opt in fit.optimal(budgets, cost, level=level):
            row = {**ent["group"], **opt}
            n, d = opt["N_opt"], opt["D_opt"]
            if len(fit.boot):
                lo, hi = fit.predict_interval([n], [d], level=level)
                row["E_pred_lo"], row["E_pred_hi"] = float(lo[0]), float(hi[0])
            archs = ent.get("architectures") or []
            if archs:
                best = min(archs, key=lambda a: abs(np.log10(a["size"] / n)))
                row["nearest_arch"], row["nearest_arch_size"] = best["name"], best["size"]
            row["size_unit"], row["cost_unit"] = fit.size_unit, ent.get("cost_unit", "")
            rows.append(row)
    return rows
