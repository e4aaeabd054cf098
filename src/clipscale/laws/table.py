"""Results tables in, one law per group out: `prepare_table` and `fit_table`.

A results table is long (one row per run x downstream dataset, the paper's schema) or wide (one
column per downstream dataset, like OpenCLIP's published results); wide tables are reshaped.
"""
from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from clipscale.errors import ClipscaleError, DataError, FitError, choices_hint
from clipscale.laws.backtest import BACKTEST_COLUMNS, backtest, compare_methods
from clipscale.laws.collection import FitEntry, Fits
from clipscale.schema import EVAL_KIND_COL, default_metric, paper_group
from clipscale.laws.defaults import FRONTIER_METHOD, N_BOOT, SEED
from clipscale.laws.noise import n_test_of, replicate_labels
from clipscale.laws.split import Holdout

DEFAULT_GROUP_BY = ("downstream_dataset", "group")
COMPUTE, ERROR, METRIC = "_compute", "_error", "_metric"
WIDE_VALUE = "score"
_OPS = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_WHERE = re.compile(r"^\s*(.+?)\s*(==|!=|<=|>=|<|>)\s*(.*?)\s*$")


def read_table(path) -> pd.DataFrame:
    """A CSV results table; a missing or unreadable file is a DataError naming it."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"results table not found: {p}; pass the path of a CSV file")
    try:
        return pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {p} as CSV ({exc}); pass a comma-separated table with a header row") from None


def need_column(df: pd.DataFrame, col: str, what: str, flag: str) -> None:
    """DataError naming the columns present and the CLI flag that picks `col`, when it is absent."""
    if col not in df.columns:
        raise DataError(f"column {col!r} ({what}) is not in the table; {choices_hint(map(str, df.columns), 40)}; "
                        f"choose one with {flag}")


def reshape_wide(df: pd.DataFrame, compute_col: str, value_cols: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per model x dataset from a wide table (one metric column per downstream dataset).

    Without `value_cols`, the value columns are the numeric columns other than `compute_col` whose
    values all lie in [0, 1] (metric fractions). Empty cells (dataset not evaluated) are dropped and
    counted in `out.attrs["dropped_empty"]`.
    """
    if value_cols:
        for c in value_cols:
            need_column(df, c, "a per-dataset metric column", "--value-cols")
        cols = list(value_cols)
    else:
        num = df.select_dtypes("number").columns
        cols = [c for c in num if c != compute_col and df[c].dropna().between(0, 1).all() and df[c].notna().any()]
        if not cols:
            raise DataError("no per-dataset metric columns found (numeric columns with values in [0, 1]); "
                            "name them with --value-cols or give a long table with --metric")
    ids = [c for c in df.columns if c not in cols]
    out = df.melt(id_vars=ids, value_vars=cols, var_name="downstream_dataset", value_name=WIDE_VALUE)
    empty = out[WIDE_VALUE].isna()
    out = out[~empty].reset_index(drop=True)
    out.attrs["dropped_empty"] = int(empty.sum())
    out.attrs["value_cols"] = cols
    return out


def apply_where(df: pd.DataFrame, where: Iterable[str] | str | None) -> pd.DataFrame:
    """Keep rows matching every 'col OP value' filter (OP one of == != < <= > >=)."""
    if not where:
        return df
    for cond in [where] if isinstance(where, str) else where:
        m = _WHERE.match(cond)
        if not m:
            raise DataError(f"cannot read filter {cond!r}; write it as 'column==value' (operators: "
                            f"{', '.join(_OPS)}), e.g. --where 'downstream_dataset==imagenet1k'")
        col, op, raw = m.groups()
        need_column(df, col, "used in --where", "--where")
        value: Any = raw.strip("'\"")
        if pd.api.types.is_numeric_dtype(df[col]):
            try:
                value = float(value)
            except ValueError:
                raise DataError(f"column {col!r} is numeric but the filter value {raw!r} is not a number") from None
            df = df[_OPS[op](df[col], value)]
        else:
            df = df[_OPS[op](df[col].astype(str), value)]
        if df.empty:
            raise DataError(f"no rows left after --where {cond!r}; check the value (e.g. the dataset name)")
    return df


def prepare_table(df, *, compute_col: str = "gmacs_total", metric: str | None = None,
                  error_col: str | None = None, where=None, wide: bool | None = None,
                  value_cols: Sequence[str] | None = None, zero_error_ok: bool = False,
                  bad: str = "raise") -> pd.DataFrame:
    """The table with `_compute` (compute_col), `_error` (fraction: error_col, or 1 - metric with the
    paper's per-dataset default metric) and `_metric` columns, `group` derived from upstream_dataset
    when absent, filtered by `where`. Total GMACs (`gmacs_total`) missing is derived as `gmacs` (per
    sample) x `samples_seen`. Bad values raise DataError naming the column and rows; `zero_error_ok`
    lets error 0 through (fit_table fails only the groups that have it). bad="drop" drops the rows
    that cannot be fitted instead (a missing metric column, a metric outside [0, 1], compute or error
    not > 0) and says what it dropped in `out.attrs["dropped"]` (rows) and `out.attrs["no_metric"]`
    ({metric column: [datasets]}): the report shows what it can and names the rest."""
    if bad not in ("raise", "drop"):
        raise DataError(f"bad={bad!r}; valid choices: raise, drop")
    df, metric = _shaped(df, compute_col, metric, error_col, wide, value_cols)
    df = apply_where(df, where)
    keep = pd.Series(True, index=df.index)
    no_metric: dict[str, list[str]] = {}
    if error_col is not None:
        need_column(df, error_col, "error", "--error-col")
        df[METRIC] = f"error:{error_col}"
        df[ERROR] = pd.to_numeric(df[error_col], errors="coerce")
    else:
        values, no_metric = _metric_values(df, metric, bad)
        if bad == "drop":
            keep &= values.between(0, 1)
        else:
            _check_fraction(df, values)
        df[ERROR] = 1.0 - values
    df[COMPUTE] = pd.to_numeric(df[compute_col], errors="coerce")
    if bad == "drop":
        for col in (COMPUTE, ERROR):
            keep &= np.isfinite(df[col]) & ((df[col] >= 0) if zero_error_ok and col == ERROR else (df[col] > 0))
        out = df[keep]
        out.attrs.update(dropped=int((~keep).sum()), no_metric=no_metric)
        return out
    _check_positive(df, COMPUTE, compute_col)
    _check_positive(df, ERROR, "error (1 - metric)" if error_col is None else error_col, zero_error_ok)
    return df


def _shaped(df, compute_col: str, metric: str | None, error_col: str | None, wide: bool | None,
            value_cols) -> tuple[pd.DataFrame, str | None]:
    """(a long copy of the table with `group` and total GMACs derived where absent, the metric to
    read): a wide table (detected when `wide` is None) is reshaped and its value column is the metric."""
    if isinstance(df, (str, Path)):
        df = read_table(df)
    df = df.copy()
    if wide is None:
        wide = ("downstream_dataset" not in df.columns and error_col is None
                and (metric is None or metric not in df.columns))
    if wide:
        df = reshape_wide(df, compute_col, value_cols)
        metric = WIDE_VALUE
    if "group" not in df.columns and "upstream_dataset" in df.columns:
        df["group"] = df["upstream_dataset"].map(paper_group)
    if compute_col == "gmacs_total" and compute_col not in df.columns and {"gmacs", "samples_seen"} <= set(df.columns):
        df[compute_col] = pd.to_numeric(df["gmacs"], errors="coerce") * pd.to_numeric(df["samples_seen"], errors="coerce")
    need_column(df, compute_col, "compute", "--compute-col")
    return df, metric


def _metric_values(df: pd.DataFrame, metric: str | None, bad: str) -> tuple[pd.Series, dict[str, list[str]]]:
    """(each row's metric value, {metric column absent: [its datasets]} when bad="drop"); sets the
    METRIC column (the metric's name per row)."""
    df[METRIC] = _metric_names(df, metric)
    values = pd.Series(np.nan, index=df.index)
    no_metric: dict[str, list[str]] = {}
    for name in df[METRIC].unique():
        rows = df[METRIC] == name
        if name not in df.columns and bad == "drop":
            no_metric[name] = sorted(map(str, df.loc[rows, "downstream_dataset"].unique())) \
                if "downstream_dataset" in df.columns else []
            continue
        need_column(df, name, "metric", "--metric")
        values[rows] = pd.to_numeric(df.loc[rows, name], errors="coerce")
    return values, no_metric


def _metric_names(df: pd.DataFrame, metric: str | None) -> pd.Series:
    if metric is not None:
        return pd.Series(metric, index=df.index)
    if "downstream_dataset" not in df.columns:
        raise DataError("no metric given and no downstream_dataset column to pick the paper's default; "
                        "pass --metric COLUMN (a fraction) or --error-col COLUMN")
    return df["downstream_dataset"].astype(str).map(default_metric)


def _rows(df: pd.DataFrame, bad: pd.Series) -> str:
    idx = list(df.index[bad.to_numpy()])
    label = lambda i: f"row {i}" + (f" ({df.at[i, 'name']}, {df.at[i, 'downstream_dataset']})"
                                    if {"name", "downstream_dataset"} <= set(df.columns) else "")
    return ", ".join(label(i) for i in idx[:3]) + (f" and {len(idx) - 3} more" if len(idx) > 3 else "")


def _check_fraction(df: pd.DataFrame, values: pd.Series) -> None:
    nan = values.isna()
    if nan.any():
        raise DataError(f"metric {sorted(set(df[METRIC][nan]))} is empty or not a number at {_rows(df, nan)}; "
                        "drop those rows with --where, or choose another --metric")
    out = (values < 0) | (values > 1)
    if out.any():
        hint = " (it looks like a percentage: divide by 100)" if values.max() <= 100 else ""
        raise DataError(f"metric values must be fractions in [0, 1]; got {float(values[out].iloc[0])!r} at "
                        f"{_rows(df, out)}{hint}")


def _check_positive(df: pd.DataFrame, col: str, name: str, zero_ok: bool = False) -> None:
    bad = df[col].isna() | ~np.isfinite(df[col]) | ((df[col] < 0) if zero_ok else (df[col] <= 0))
    if bad.any():
        raise DataError(f"{name} must be a finite number > 0 for a log-log fit; bad at {_rows(df, bad)} "
                        f"(value {df[col][bad].iloc[0]}); drop those rows with --where or fix the table")


def mixed_eval_kinds(df: pd.DataFrame) -> bool:
    """True when some downstream dataset has rows of several evaluation kinds (schema.EVAL_KIND_COL):
    those are never fitted together."""
    if EVAL_KIND_COL not in df.columns:
        return False
    kinds = df[EVAL_KIND_COL].astype(str)
    if "downstream_dataset" in df.columns:
        return bool((kinds.groupby(df["downstream_dataset"].astype(str)).nunique() > 1).any())
    return kinds.nunique() > 1


def resolve_group_by(df: pd.DataFrame, group_by) -> list[str]:
    """Explicit group columns must exist; the default (None or DEFAULT_GROUP_BY) keeps those of
    (downstream_dataset, group) present in the table (a wide table without groups is one group), and
    adds the evaluation kind (EVAL_KIND_COL) when a dataset has rows of several kinds (zero-shot, linear
    probe, fine-tune): those are different laws, never one fit."""
    if group_by is None or tuple([group_by] if isinstance(group_by, str) else group_by) == DEFAULT_GROUP_BY:
        return [c for c in DEFAULT_GROUP_BY if c in df.columns] + ([EVAL_KIND_COL] if mixed_eval_kinds(df) else [])
    cols = [group_by] if isinstance(group_by, str) else list(group_by)
    for c in cols:
        need_column(df, c, "in --group-by", "--group-by")
    return cols


def iter_groups(data: pd.DataFrame, keys: list[str]):
    """(group values dict, label, rows) per group of `data` by `keys` (one group when no keys)."""
    for key, sub in (data.groupby(keys, sort=True, dropna=False) if keys else [((), data)]):
        key = key if isinstance(key, tuple) else (key,)
        label = "(" + ", ".join(map(str, key)) + ")" if keys else "(all rows)"
        yield {k: _py(v) for k, v in zip(keys, key)}, label, sub


def _py(v):
    return v.item() if hasattr(v, "item") else v


def _paper_group(sub: pd.DataFrame):
    groups = sub["group"].unique() if "group" in sub.columns else []
    return groups[0] if len(groups) == 1 else None


def fit_table(df, **kwargs) -> pd.DataFrame:
    """One law per group of a results table (path or DataFrame): `fit_groups(...).frame()`, the
    fits.csv table (see `fit_groups` for the arguments)."""
    return fit_groups(df, **kwargs).frame()


def fit_groups(df, *, compute_col: str = "gmacs_total", metric: str | None = None, error_col: str | None = None,
               group_by=DEFAULT_GROUP_BY, where=None, method: str = FRONTIER_METHOD, n_boot: int = N_BOOT, seed: int = SEED,
               holdout: Holdout | None = None, errors: str = "row", wide: bool | None = None,
               value_cols: Sequence[str] | None = None, bad: str = "raise", **opts) -> Fits:
    """One law per group of a results table (path or DataFrame), as a `Fits` (save it as fits.json);
    see `prepare_table` for the inputs.

    group_by: the default (downstream_dataset, group) uses the columns present (and the evaluation
    type when a dataset mixes several); explicit columns must exist. For method 'paper', groups whose
    `group` is 'openai' (CLIP-WIT) use plain least squares, as the paper does
    (laws.methods.group_options). A calibrated method ('auto') is calibrated on each group's runs
    (laws.recommended.fit_law), with the group's test images (laws.noise.n_test_of) and seed
    replicates (laws.noise.replicate_labels). A group that cannot be fitted, e.g. one whose error reaches 0 (a
    solved task), gives an entry with status 'failed' and the reason in `message` (errors='raise'
    raises instead); the other groups are still fitted. With a `holdout` split (laws.split.Holdout),
    the entry also has backtest_mae_pct (error-percentage points) and backtest_n_heldout. bad="drop" (the report's
    choice) drops the rows that cannot be fitted, solved runs (error 0) included, instead of failing.
    """
    from clipscale.laws.methods import get, group_options

    get(method).resolve(opts)  # unknown method or option: fail before any work
    if errors not in ("row", "raise"):
        raise DataError(f"errors={errors!r}; valid choices: raise, row")
    data = prepare_table(df, compute_col=compute_col, metric=metric, error_col=error_col, where=where,
                         wide=wide, value_cols=value_cols, zero_error_ok=bad == "raise", bad=bad)
    keys = resolve_group_by(data, group_by)
    fits = Fits(meta={"compute_col": compute_col, "metric": metric, "error_col": error_col, "group_by": keys,
                      "method": method, "n_boot": n_boot, "seed": seed, "options": dict(opts)})
    for group, label, sub in iter_groups(data, keys):
        metrics = sub[METRIC].unique()
        entry = FitEntry(group=group, method=method, n_points=len(sub), error_col=error_col or "",
                         metric=metrics[0] if len(metrics) == 1 else "mixed")
        o = group_options(method, _paper_group(sub), opts)
        with fits.recording(entry, errors):
            entry.fit, entry.backtest = _fit_group(sub, method, label, n_boot, seed, holdout, o)
            entry.message = "; ".join(entry.fit.notes)
    return fits


def _fit_group(sub: pd.DataFrame, method, label, n_boot, seed, holdout, opts):
    from clipscale.laws.recommended import fit_law

    c, e = sub[COMPUTE].to_numpy(), sub[ERROR].to_numpy()
    if (e <= 0).any():
        raise FitError(f"error reaches 0 (task solved) at {int((e <= 0).sum())} of {len(e)} run(s) in group "
                       f"{label}; a law in log error needs error > 0: drop those runs with --where "
                       "or evaluate a harder task")
    res = fit_law(c, e, method, n_test=n_test_of(sub), replicates=replicate_labels(sub), n_boot=n_boot, seed=seed,
                  label=label, **opts)
    bt = {}
    if holdout is not None:
        try:
            b = backtest(c, e, method, holdout=holdout, label=label, n_test=n_test_of(sub), **opts)
            bt = {"backtest_mae_pct": b.mae_pct, "backtest_n_heldout": b.n_heldout}
        except ClipscaleError as exc:  # the law stands; only its backtest could not be made
            bt = {"backtest_note": str(exc)}
    return res, bt


def backtest_groups(df, methods: Sequence[str] = (FRONTIER_METHOD,), *, holdout: Holdout, group_by=DEFAULT_GROUP_BY,
                    keep=(), n_boot: int = 0, seed: int = SEED, bad: str = "raise",
                    **table_opts) -> tuple[pd.DataFrame, list[str]]:
    """Backtest every group x method of a results table (see `prepare_table` for table_opts): fit
    without the held-out runs (the most expensive ones), predict them. Returns (one row per held-out
    run: the group columns, the `keep` columns, then backtest.BACKTEST_COLUMNS; and one
    'group / method: reason' line per combination that could not be backtested)."""
    from clipscale.laws.methods import group_options

    data = prepare_table(df, bad=bad, **table_opts)
    keys = resolve_group_by(data, group_by)
    frames, skipped = [], []
    for group, label, sub in iter_groups(data, keys):
        sub = sub.reset_index(drop=True)
        for method in methods:
            try:
                bt = backtest(sub[COMPUTE].to_numpy(float), sub[ERROR].to_numpy(float), method,
                              holdout=holdout, n_boot=n_boot, seed=seed, label=label, n_test=n_test_of(sub),
                              **group_options(method, _paper_group(sub)))
            except ClipscaleError as exc:
                skipped.append(f"{label} / {method}: {exc}")
                continue
            frame = bt.held_out_frame(sub, keep=[k for k in keep if k not in group])
            for i, (k, v) in enumerate(group.items()):
                frame.insert(i, k, v)
            frames.append(frame)
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(BACKTEST_COLUMNS))), skipped


def compare_table(df, methods: Sequence[str] = ("paper", "ls", "frontier", FRONTIER_METHOD), *,
                  holdout: Holdout, group_by=None, **table_opts) -> pd.DataFrame:
    """`compare_methods` for every group of a results table (see clipscale.laws.prepare_table for
    table_opts: compute_col, metric, error_col, where, wide, value_cols); one row per group x method."""
    data = prepare_table(df, **table_opts)
    keys = resolve_group_by(data, DEFAULT_GROUP_BY if group_by is None else group_by)
    frames = []
    for key, sub in (data.groupby(keys, sort=True, dropna=False) if keys else [((), data)]):
        key = key if isinstance(key, tuple) else (key,)
        table = compare_methods(sub[COMPUTE].to_numpy(), sub[ERROR].to_numpy(), methods, holdout=holdout)
        for k, v in reversed(list(zip(keys, key))):
            table.insert(0, k, v)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def backtest_table(df, *, method: str = FRONTIER_METHOD, holdout: Holdout, keep=(),
                   compute_col: str = "gmacs_total", metric: str | None = None, error_col: str | None = None,
                   where=None, **opts) -> pd.DataFrame:
    """Backtest one group of runs (a results table, see `prepare_table`): one row per held-out run
    in the shared backtest columns (backtest.BACKTEST_COLUMNS) after the `keep` columns. The
    paper's CLIP-WIT rule (methods.group_options) applies when the runs are one paper group."""
    from clipscale.laws.methods import group_options

    data = prepare_table(df, compute_col=compute_col, metric=metric, error_col=error_col, where=where,
                         wide=False).reset_index(drop=True)
    bt = backtest(data[COMPUTE].to_numpy(float), data[ERROR].to_numpy(float), method, holdout=holdout,
                  n_test=n_test_of(data), **group_options(method, _paper_group(data), opts))
    return bt.held_out_frame(data, keep=keep)
