"""The joint law per group of a results table: `fit_joint_table`, and the fits file `plan` reads.

N = `size_col` (parameters, or per-sample GMACs: say which with `size_unit`), D = `data_col`
(samples seen), E = 1 - metric (a fraction) or `error_col` (any positive loss). The per-sample
cost for compute-optimal allocation comes from `cost_col` (per-sample GMACs of the rows, e.g. the
paper's `gmacs`), interpolated in log-log between the sizes present; with `cost_factor` instead,
cost = factor x N (6 for Chinchilla's C = 6 N D).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clipscale._io import atomic_write_json
from clipscale.errors import ClipscaleError, DataError
from clipscale.laws.allocate import LogLogCost
from clipscale.laws.backtest import split_mask
from clipscale.laws.joint import JointFit, fit_joint
from clipscale.laws.table import ERROR, METRIC, _need, prepare_table, read_table, resolve_group_by

FITS_SCHEMA = "clipscale.laws.JointFits/1"


def fit_joint_table(df, *, size_col: str, data_col: str, metric: str | None = None,
                    error_col: str | None = None, group_by=None, where=None, n_boot: int = 200,
                    seed: int = 0, delta: float = 1e-3, size_unit: str = "parameters",
                    cost_col: str | None = None, cost_factor: float | None = None,
                    holdout_top_frac: float | None = None, holdout_top: int | None = None,
                    holdout_above: float | None = None, name_col: str | None = None,
                    errors: str = "row") -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """(one summary row per group, fit entries for `save_fits`). A group that cannot be fitted
    gives a row with status 'failed' and the reason in `message` (errors='raise' raises)."""
    if isinstance(df, (str, Path)):
        df = read_table(df)
    for col, what, flag in ((size_col, "model size: parameters or per-sample GMACs", "--size-col"),
                            (data_col, "data size: samples seen", "--data-col"),
                            (cost_col, "per-sample cost in GMACs", "--cost-col")):
        if col is None:
            continue
        _need(df, col, what, flag)
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise DataError(f"column {col!r} ({what}) is not numeric (e.g. {df[col].iloc[0]!r}); "
                            f"pass a column of numbers with {flag}")
    data = prepare_table(df, compute_col=size_col, metric=metric, error_col=error_col, where=where, wide=False)
    split = None
    if any(v is not None for v in (holdout_top_frac, holdout_top, holdout_above)):
        split = {"holdout_top_frac": holdout_top_frac, "holdout_top": holdout_top, "cutoff": holdout_above}
    keys = resolve_group_by(data, group_by)
    rows, entries = [], []
    for key, sub in (data.groupby(keys, sort=True, dropna=False) if keys else [((), data)]):
        key = key if isinstance(key, tuple) else (key,)
        label = "(" + ", ".join(map(str, key)) + ")" if keys else "(all rows)"
        row: dict[str, Any] = dict(zip(keys, key))
        metrics = sub[METRIC].unique()
        row.update(metric=metrics[0] if len(metrics) == 1 else "mixed", method="joint", n_points=len(sub))
        try:
            cost = _cost(sub, size_col, cost_col, cost_factor)
            n, d, e = (sub[c].to_numpy(float) for c in (size_col, data_col, ERROR))
            res = fit_joint(n, d, e, delta=delta, n_boot=n_boot, seed=seed, label=label, size_unit=size_unit)
            row.update(summary(res))
            if split:
                row.update(_backtest(n, d, e, cost, split, delta, label, size_unit))
            row.update(status="ok", message="; ".join(res.notes))
            archs = _architectures(sub, size_col, name_col)
            entries.append({"group": {k: _plain(v) for k, v in zip(keys, key)}, "fit": res.to_dict(),
                            "cost": {"sizes": list(cost.sizes), "costs": list(cost.costs),
                                     "unit": "per-sample cost (GMACs)" if cost_col else f"{cost_factor} x N"},
                            "architectures": archs})
        except ClipscaleError as exc:
            if errors == "raise":
                raise
            row.update(status="failed", message=str(exc))
        rows.append(row)
    return pd.DataFrame(rows), entries


def summary(res: JointFit) -> dict[str, Any]:
    """The JSON/CSV summary of one joint fit: parameters, intervals, objective, a_opt."""
    out: dict[str, Any] = {k: v for k, v in res.params.items()}
    out.update(objective=res.objective, n_starts=res.n_starts, a_opt=res.beta / (res.alpha + res.beta),
               resid_std=res.resid_std, formula=res.formula())
    for k, (lo, hi) in res.ci.items():
        out[f"{k}_lo"], out[f"{k}_hi"] = lo, hi
    return out


def _backtest(n, d, e, cost, split, delta, label, size_unit) -> dict[str, Any]:
    """Fit on the cheaper runs (compute = cost(N) x D), predict the rest. backtest_mae is in the
    error column's unit (error-percentage points x 0.01 for fractions: see backtest_mae_pct)."""
    comp = cost(n) * d
    train = split_mask(comp, **split)
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


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def save_fits(path, entries: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> Path:
    """Write the fits file (JSON, atomically) that `clipscale plan --fit` reads."""
    return atomic_write_json(path, {"schema": FITS_SCHEMA, **(meta or {}), "fits": entries})


def load_fits(path) -> list[dict[str, Any]]:
    """The fit entries of a fits file; each has group, fit (a JointFit), cost (a LogLogCost), architectures."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"fits file not found: {path}; write one with `clipscale fit ... --method joint "
                        "--save-fits FITS.json`") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not JSON ({exc.msg}); pass a file written by --save-fits") from None
    if data.get("schema") != FITS_SCHEMA:
        raise DataError(f"{path} is not a joint-law fits file (schema {data.get('schema')!r}, expected "
                        f"{FITS_SCHEMA!r}); write one with `clipscale fit --method joint --save-fits`")
    out = []
    for e in data["fits"]:
        out.append({**e, "fit": JointFit.from_dict(e["fit"]),
                    "cost": LogLogCost.from_pairs(e["cost"]["sizes"], e["cost"]["costs"]),
                    "cost_unit": e["cost"].get("unit", "")})
    return out
