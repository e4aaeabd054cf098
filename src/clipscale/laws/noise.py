"""What a results table says about the noise of its runs: the test images each metric was measured
on (`n_test`), which runs are seed replicates of one configuration, and the task's chance error.

Read per group of rows (a DataFrame slice in the results schema); each returns None where the table
does not say, and the callers (laws.table, the backtest, the report) then leave that source inside
the residual scatter (laws.calibrate) or skip the check (laws.trust).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clipscale.schema import CHANCE_COL, N_TEST_COL, N_TEST_LEGACY_COL, SEED_COL

#: the columns that name a run's configuration apart from its seed: runs equal in all of those present
#: (and of different seeds) are replicates
CONFIG_COLUMNS = ("arch", "upstream_dataset", "samples_seen", "data_size", "lr", "batch_size")


def n_test_of(rows: pd.DataFrame) -> np.ndarray | None:
    """Test images per row: the `n_test` column, else `n_images` (older tables); None unless every
    row has a whole number >= 1."""
    for col in (N_TEST_COL, N_TEST_LEGACY_COL):
        if col in rows.columns:
            n = pd.to_numeric(rows[col], errors="coerce").to_numpy(float)
            if n.size and np.all(np.isfinite(n)) and np.all(n >= 1) and np.all(n == np.round(n)):
                return n
    return None


def replicate_labels(rows: pd.DataFrame) -> np.ndarray | None:
    """A configuration label per row (the CONFIG_COLUMNS present, joined) when the rows hold runs of
    several seeds (the `seed` column); None otherwise (no replicates: the seed noise stays inside the
    scatter)."""
    if SEED_COL not in rows.columns or rows[SEED_COL].nunique(dropna=True) < 2:
        return None
    cols = [c for c in CONFIG_COLUMNS if c in rows.columns]
    if not cols:
        return None
    return rows[cols].astype(str).agg("|".join, axis=1).to_numpy()


def chance_of(rows: pd.DataFrame) -> float | None:
    """The task's chance error (a fraction) when the rows agree on one (the `chance_error` column)."""
    if CHANCE_COL not in rows.columns:
        return None
    v = pd.to_numeric(rows[CHANCE_COL], errors="coerce").dropna().unique()
    return float(v[0]) if len(v) == 1 and 0 < v[0] <= 1 else None


def unique_samples(rows: pd.DataFrame) -> np.ndarray | None:
    """Unique samples of each run's training set (U of a per-run law that knows data repetition): a
    study's `data_size` column (image-text pairs); None when the table does not give it."""
    if "data_size" not in rows.columns:
        return None
    u = pd.to_numeric(rows["data_size"], errors="coerce").to_numpy(float)
    return u if u.size and np.all(np.isfinite(u)) and np.all(u > 0) else None
