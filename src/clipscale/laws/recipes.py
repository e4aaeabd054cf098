"""Two recipes of one results table compared, group by group: `compare_recipes`.

A recipe is the rows whose `by` column holds one value (group=openai, upstream_dataset=LAION-2B,
lr=0.001, ...). The table is any table `fit` reads (long or wide: `prepare_table`), filtered by
`where`; the groups are the downstream datasets (and the evaluation type when a dataset mixes
several), or the columns given. Each recipe's law is fitted per group (`compare.law_draws`, with
independent seeds for A and B) and compared (`compare.compare_laws`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from clipscale.errors import DataError, FitError, UserInputError, choices_hint
from clipscale.laws import compare as cmp
from clipscale.laws.methods import get as get_method, group_options
from clipscale.laws.noise import replicate_labels
from clipscale.laws.table import (COMPUTE, ERROR, METRIC, iter_groups, mixed_eval_kinds, prepare_table, read_table,
                                  reshape_wide)
from clipscale.schema import EVAL_KIND_COL


def check_computes(values: Sequence[Any], flag: str = "--at") -> list[float]:
    """The computes as positive finite floats; UserInputError naming the first bad one."""
    out = []
    for v in values:
        try:
            c = float(v)
        except (TypeError, ValueError):
            c = math.nan
        if not (math.isfinite(c) and c > 0):
            raise UserInputError(f"{flag} {v!r} is not a positive number; give a compute in the compute "
                                 "column's unit, e.g. --at 1e12 (total GMACs)")
        out.append(c)
    return out


def compare_recipes(df, by: str, a, b, *, method: str = cmp.DEFAULT_METHOD, at: Sequence[float] = (),
                    where=None, group_by: Sequence[str] | None = None, compute_col: str = "gmacs_total",
                    metric: str | None = None, error_col: str | None = None, wide: bool | None = None,
                    value_cols: Sequence[str] | None = None, n_boot: int = cmp.N_BOOT, seed: int = 0,
                    level: float = cmp.LEVEL, scheme: str = "auto",
                    opts: dict | None = None) -> tuple[list[cmp.Comparison], list[str]]:
    """(one Comparison per group where both recipes have runs, one line per group skipped and why).

    `by` names the recipe column, `a` and `b` its two values (a numeric column matches numbers:
    '1e-3' == 0.001). Bad input raises before any fit: a `by` column not in the table, a value not in
    it, an `at` compute not > 0. FitError when no group could be compared (e.g. too few runs), with
    the first reason."""
    get_method(method).resolve(dict(opts or {}))
    at = check_computes(at)
    df = read_table(df) if isinstance(df, (str, Path)) else df.reset_index(drop=True)  # a repeated index: one row each
    if value_cols is None and by in df.columns and wide is not False and error_col is None \
            and "downstream_dataset" not in df.columns and (metric is None or metric not in df.columns):
        # a wide table: a numeric recipe column in [0, 1] (lr) is not a per-dataset metric column
        value_cols = [c for c in reshape_wide(df, compute_col).attrs["value_cols"] if c != by]
    data = prepare_table(df, compute_col=compute_col, metric=metric, error_col=error_col, where=where,
                         wide=wide, value_cols=value_cols, zero_error_ok=True)
    columns = [str(c) for c in data.columns if c not in (COMPUTE, ERROR, METRIC)]
    if by not in columns:
        raise DataError(f"--by column {by!r} is not in the table; {choices_hint(columns, 40)}")
    in_a, in_b = _recipe(data, by, a, "--a"), _recipe(data, by, b, "--b")
    if in_a.equals(in_b):
        raise UserInputError(f"--a and --b select the same rows ({by}={a!r}); give two different values of {by}")
    keys = _group_keys(data, by, group_by, columns)
    unit = "GMACs" if compute_col == "gmacs_total" else compute_col
    out, skipped = [], []
    for group, _, sub in iter_groups(data, keys):
        ra, rb = sub[in_a[sub.index]], sub[in_b[sub.index]]
        where_txt = ", ".join(map(str, group.values())) or "all rows"
        if ra.empty or rb.empty:
            skipped.append(f"{where_txt}: no runs of {by}={a if ra.empty else b}")
            continue
        try:
            labels = (f"{by}={a} on {where_txt}", f"{by}={b} on {where_txt}")
            la, lb = _pair(ra, rb, method, n_boot, seed, scheme, labels, opts)
        except (FitError, DataError) as exc:
            skipped.append(str(exc))
            continue
        out.append(cmp.compare_laws(la, lb, at=at, names=(str(a), str(b)), group=group, level=level, unit=unit))
    if not out:
        raise FitError(skipped[0] if skipped else "no group has runs of both recipes")
    return out, skipped


def _recipe(data: pd.DataFrame, by: str, value, flag: str) -> pd.Series:
    """Rows whose `by` equals `value` (numbers compared as numbers); DataError listing the values."""
    col = data[by]
    if pd.api.types.is_numeric_dtype(col):
        try:
            rows = pd.Series(np.isclose(col.to_numpy(float), float(value), rtol=1e-9, atol=0.0), index=data.index)
        except (TypeError, ValueError):
            rows = pd.Series(False, index=data.index)
    else:
        rows = col.astype(str) == str(value)
    if not rows.any():
        values = sorted({f"{v:g}" if isinstance(v, float) else str(v) for v in col.dropna().unique()})
        raise DataError(f"{flag} {value!r} is not a value of column {by!r}; {choices_hint(values, 30)}")
    return rows


def _group_keys(data: pd.DataFrame, by: str, group_by, columns: list[str]) -> list[str]:
    """Explicit group columns (they must exist), else downstream_dataset and, when a dataset mixes
    evaluation types, the type; never the recipe column itself."""
    if group_by:
        for c in group_by:
            if c not in columns:
                raise DataError(f"--group-by column {c!r} is not in the table; {choices_hint(columns, 40)}")
        keys = list(group_by)
    else:
        keys = [c for c in ("downstream_dataset",) if c in data.columns]
        keys += [EVAL_KIND_COL] if mixed_eval_kinds(data) else []
    return [k for k in keys if k != by]


def _pair(ra: pd.DataFrame, rb: pd.DataFrame, method: str, n_boot: int, seed: int, scheme: str, labels,
          opts) -> tuple[cmp.LawDraws, cmp.LawDraws]:
    """Both recipes' laws in one group (compare.pair_draws); the paper's rule for CLIP-WIT
    (methods.group_options) applies to each. Replicates (runs of one configuration with several
    seeds) are averaged first (`seed_means`)."""
    runs, options = [], []
    for rows, label in zip((ra, rb), labels):
        groups = rows["group"].unique() if "group" in rows.columns else []
        options.append(group_options(method, groups[0] if len(groups) == 1 else None, opts))
        rows = seed_means(rows)
        e = rows[ERROR].to_numpy(float)
        if (e <= 0).any():
            raise FitError(f"{label}: error reaches 0 (task solved) at {int((e <= 0).sum())} of {len(e)} run(s); "
                           "a law in log error needs error > 0: drop those runs with --where")
        runs.append((rows[COMPUTE].to_numpy(float), e))
    return cmp.pair_draws(runs[0], runs[1], method, n_boot=n_boot, seed=seed, scheme=scheme, labels=labels,
                          opts=tuple(options))


def seed_means(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration, its error the mean over its seeds, when `rows` hold replicates
    (laws.noise.replicate_labels); else `rows` as they are. A frontier law fitted to every replicate
    takes the luckier seed at each compute, so the recipe whose seeds spread more looked better than
    its mean (docs/compare.md: two lr recipes, two seeds each)."""
    labels = replicate_labels(rows)
    if labels is None:
        return rows
    keyed = rows.assign(_config=labels)
    first = keyed.groupby("_config", sort=False).head(1).set_index("_config")
    first[ERROR] = keyed.groupby("_config", sort=False)[ERROR].mean()
    return first.reset_index(drop=True)
