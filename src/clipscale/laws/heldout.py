"""`clipscale backtest`: predict held-out runs of a results table and say how often the intervals hold them.

Two targets, one question each (laws.defaults names the recommended law of each):

- "frontier": per group, the frontier law (default FRONTIER_METHOD, calibrated) fitted on the runs
  the split keeps predicts the held-out runs on the group's compute frontier (error at or below every
  cheaper run's: the best error reachable at a compute, what a frontier law claims to predict);
- "runs": the per-run law (laws.perrun_laws, default PER_RUN_LAW) fitted on the kept runs predicts
  every held-out run from its model size N (`gmacs`, GMACs per sample), samples seen D and, for a law
  that reads it, unique samples U (`data_size`).

`backtest_heldout(table, target=...)` -> `HeldOut`: one row per held-out run (actual, predicted and
the interval at each of LEVELS, errors as fractions) and `summary()`: coverage at each level, median
90% width, median and p90 miss (error-% points), per group and overall. `csv_frame()` is backtest.csv.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from clipscale.errors import ClipscaleError, DataError, unknown
from clipscale.laws import perrun_laws
from clipscale.laws.calibrate import new_run_interval
from clipscale.laws.defaults import FRONTIER_METHOD, N_BOOT, PER_RUN_LAW, SEED
from clipscale.laws.noise import n_test_of, unique_samples
from clipscale.laws.split import Holdout
from clipscale.laws.table import COMPUTE, DEFAULT_GROUP_BY, ERROR, iter_groups, need_column, prepare_table, resolve_group_by

TARGETS = ("runs", "frontier")
#: the nominal coverages reported (a reliability curve: observed against nominal)
LEVELS = (0.5, 0.8, 0.9, 0.95)
#: the per-run law's columns: N (GMACs per sample) and D (samples seen)
SIZE_COL, DATA_COL = "gmacs", "samples_seen"
#: backtest.csv, after the group columns (errors in percent, compute in the compute column's unit;
#: issue 23's columns, nothing more: `HeldOut.rows` keeps the name, method and extrapolation_decades)
CSV_COLUMNS = ("upstream_dataset", "arch", "samples_seen", "compute", "actual_error_pct", "predicted_error_pct",
               "lo90_error_pct", "hi90_error_pct", "inside_90")
_RUN_FACTS = ("upstream_dataset", "arch", "samples_seen", "name")


@dataclasses.dataclass
class HeldOut:
    """The held-out runs' predictions: `rows` (group columns, run facts, compute, actual, predicted,
    lo/hi at every level as fractions, extrapolation_decades, method), the group columns, the target,
    and one 'group: reason' line per group that could not be backtested."""

    rows: pd.DataFrame
    group_cols: list[str]
    target: str
    skipped: list[str]

    def csv_frame(self) -> pd.DataFrame:
        """backtest.csv: one row per held-out run, exactly the group columns then CSV_COLUMNS (errors in
        percent; a run fact the table lacks, e.g. arch, is left empty)."""
        r = self.rows
        out = r[self.group_cols].copy()
        for c in _RUN_FACTS[:3]:
            if c not in self.group_cols:
                out[c] = r[c] if c in r.columns else np.nan
        out["compute"] = r["compute"]
        out["actual_error_pct"], out["predicted_error_pct"] = 100 * r["actual"], 100 * r["predicted"]
        out["lo90_error_pct"], out["hi90_error_pct"] = 100 * r["lo0.9"], 100 * r["hi0.9"]
        out["inside_90"] = (r["actual"] >= r["lo0.9"]) & (r["actual"] <= r["hi0.9"])
        return out

    def summary(self) -> pd.DataFrame:
        """One row per group and a last row 'all' (first group column; the others empty): n, inside_50 ... inside_95 (fractions of the held-out
        runs inside each nominal interval), width90_median (error-% points), miss_median, miss_p90."""
        parts = [({k: v for k, v in zip(self.group_cols, key if isinstance(key, tuple) else (key,))}, sub)
                 for key, sub in self.rows.groupby(self.group_cols, sort=True)] if self.group_cols and len(self.rows) else []
        out = [{**g, **coverage(sub)} for g, sub in parts]
        out.append({**{c: "all" if i == 0 else "" for i, c in enumerate(self.group_cols)}, **coverage(self.rows)})
        return pd.DataFrame(out)


def coverage(rows: pd.DataFrame) -> dict:
    """n, the fraction inside each of LEVELS, median 90% width, median and p90 miss (error-% points)."""
    out: dict = {"n": int(len(rows))}
    if not len(rows):
        return out
    for lev in LEVELS:
        out[f"inside_{round(100 * lev)}"] = float(((rows["actual"] >= rows[f"lo{lev}"]) & (rows["actual"] <= rows[f"hi{lev}"])).mean())
    miss = 100 * (rows["predicted"] - rows["actual"]).abs()
    out["width90_median"] = float(100 * (rows["hi0.9"] - rows["lo0.9"]).median())
    out["miss_median"], out["miss_p90"] = float(miss.median()), float(miss.quantile(0.9))
    return out


def backtest_heldout(table, *, target: str, holdout: Holdout, method: str | None = None, where=None,
                     group_by=DEFAULT_GROUP_BY, compute_col: str = "gmacs_total", metric: str | None = None,
                     n_boot: int | None = None, seed: int = SEED,
                     progress: Callable[[int, int], None] | None = None) -> HeldOut:
    """Backtest every group of a results table (path or DataFrame; see laws.prepare_table) on
    `target` ("frontier" or "runs"): `method` is the frontier law's method (default FRONTIER_METHOD)
    or the per-run law (default PER_RUN_LAW). `n_boot`: bootstrap resamples (None: laws.defaults'
    N_BOOT for a frontier law, the per-run law's own default). `progress(done, total)` is called
    before the first fit (done = 0) and after each group (a pooled per-run law: after its one fit)."""
    if target not in TARGETS:
        raise unknown("backtest target", target, TARGETS, "pass --target runs or --target frontier")
    if target == "frontier":
        from clipscale.laws.methods import get

        method = method or FRONTIER_METHOD
        get(method)
    else:
        method = method or PER_RUN_LAW
        perrun_laws.get(method)
    data = prepare_table(table, compute_col=compute_col, metric=metric, where=where, wide=False, bad="drop")
    if data.empty:
        raise DataError("no row of the table can be fitted (compute and error must be > 0); check --where and the table")
    keys = resolve_group_by(data, group_by)
    if target == "runs":
        for col in (SIZE_COL, DATA_COL):
            need_column(data, col, "the per-run law's N (GMACs per sample)" if col == SIZE_COL else "D (samples seen)",
                        "a results table in clipscale.schema.RESULT_COLUMNS")
        frames, skipped = _runs(data, keys, method, holdout, n_boot, seed, progress)
    else:
        frames, skipped = _frontier(data, keys, method, holdout, N_BOOT if n_boot is None else n_boot, seed, progress)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if rows.empty:
        raise DataError(f"no group could be backtested with {holdout.describe()}: {skipped[0] if skipped else 'no group'}")
    return HeldOut(rows, keys, target, skipped)


def _frame(group: dict, sub: pd.DataFrame, held: np.ndarray, predicted, bands: dict, distance, method: str) -> pd.DataFrame:
    out = pd.DataFrame({k: v for k, v in group.items()}, index=range(int(held.sum())))
    for c in _RUN_FACTS:
        if c in sub.columns:
            out[c] = sub[c].to_numpy()[held]
    out["compute"] = sub[COMPUTE].to_numpy(float)[held]
    out["actual"] = sub[ERROR].to_numpy(float)[held]
    out["predicted"] = np.asarray(predicted, float)
    for lev in LEVELS:
        out[f"lo{lev}"], out[f"hi{lev}"] = (np.asarray(v, float) for v in bands[lev])
    out["extrapolation_decades"] = np.asarray(distance, float)
    out["method"] = method
    return out


def _frontier(data, keys, method, holdout, n_boot, seed, progress):
    from clipscale.laws.recommended import fit_law
    from clipscale.laws.uncertainty import extrapolation_decades

    frames, skipped, groups = [], [], list(iter_groups(data, keys))
    if progress:
        progress(0, len(groups))
    for i, (group, label, sub) in enumerate(groups):
        c, e = sub[COMPUTE].to_numpy(float), sub[ERROR].to_numpy(float)
        try:
            train = holdout.train_mask(c, e)
            judged = holdout.judged_mask(c, e)
            if not judged.any() or not train.any():
                raise DataError(f"{holdout.describe()} leaves {'no held-out frontier run' if train.any() else 'no run to fit'}")
            n = n_test_of(sub)
            res = fit_law(c[train], e[train], method, n_test=None if n is None else n[train], n_boot=n_boot, seed=seed,
                          label=label)
            bands = {lev: new_run_interval(res, c[judged], lev) for lev in LEVELS}
            dist = extrapolation_decades(c[judged], float(c[train].max()))
            frames.append(_frame(group, sub, judged, res.predict(c[judged]), bands, dist, res.method))
        except ClipscaleError as exc:
            skipped.append(f"{label}: {exc}")
        if progress:
            progress(i + 1, len(groups))
    return frames, skipped


def _runs(data, keys, law_name, holdout, n_boot, seed, progress):
    law = perrun_laws.get(law_name)
    parts, skipped = [], []
    for group, label, sub in iter_groups(data, keys):  # the split is per group: its most expensive runs held out
        try:
            train = holdout.train_mask(sub[COMPUTE].to_numpy(float), sub[ERROR].to_numpy(float))
            if train.all() or not train.any():
                raise DataError(f"{holdout.describe()} holds out {'no' if train.all() else 'every'} run")
            if train.sum() < law.min_runs:
                raise DataError(f"{int(train.sum())} fitted run(s), too few for the {law.name} law (needs >= {law.min_runs})")
            parts.append((group, label, sub, train))
        except ClipscaleError as exc:
            skipped.append(f"{label}: {exc}")
    batches = ([parts] if parts else []) if law.pooled else [[p] for p in parts]  # no group big enough: nothing to fit
    frames = []
    if progress:
        progress(0, len(batches))
    for i, batch in enumerate(batches):
        try:
            n, d, e, u, labels = _stacked(batch, law.uses_unique)
            model = law.fit(n, d, e, u, group=labels, n_boot=law.n_boot if n_boot is None else n_boot, seed=seed)
            for group, label, sub, train in batch:
                n, d, _, u = _columns(sub, law.uses_unique, ~train)
                bands = {lev: model.predict_interval(n, d, u, group=label, level=lev) for lev in LEVELS}
                frames.append(_frame(group, sub, ~train, model.predict(n, d, u, group=label), bands,
                                     model.extrapolation_decades(n, d, group=label), law.name))
        except ClipscaleError as exc:
            skipped.extend(f"{label}: {exc}" for _, label, _, _ in batch)
        if progress:
            progress(i + 1, len(batches))
    return frames, skipped


def _columns(sub, uses_unique: bool, rows: np.ndarray):
    """(N, D, E, U or None) of the chosen rows of one group."""
    n, d, e = (sub[c].to_numpy(float)[rows] for c in (SIZE_COL, DATA_COL, ERROR))
    u = unique_samples(sub) if uses_unique else None
    return n, d, e, None if u is None else u[rows]


def _stacked(batch, uses_unique: bool):
    """(N, D, E, U, group labels) of the training runs of every group in `batch`, stacked."""
    cols = [_columns(sub, uses_unique, train) + (np.full(int(train.sum()), label, dtype=object),)
            for _, label, sub, train in batch]
    n, d, e = (np.concatenate([c[k] for c in cols]) for k in range(3))
    u = None if any(c[3] is None for c in cols) else np.concatenate([c[3] for c in cols])
    return n, d, e, u, np.concatenate([c[4] for c in cols])


def levels_label(levels: Sequence[float] = LEVELS) -> str:
    """'50/80/90/95%'."""
    return "/".join(f"{round(100 * v)}" for v in levels) + "%"
