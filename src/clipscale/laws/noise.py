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

#: unique image-text pairs of the paper's training sets (samples), U of the per-run law for its runs:
#: LAION-80M: samples_per_epoch 80,000,415 of every 80M run in the paper's trained_models_info.csv;
#: LAION-400M: 407,332,084-413,000,000 in the same column (the 400M runs), 413M announced by
#: Schuhmann et al. 2021 (arXiv:2111.02114); LAION-2B: the 2.32B English pairs of LAION-5B
#: (Schuhmann et al. 2022, arXiv:2210.08402, table 1); the 2B runs' samples_per_epoch (135-213M) are
#: virtual epochs, not unique data.
PAPER_UNIQUE = {"LAION-80M": 8.0e7, "LAION-400M": 4.1e8, "LAION-2B": 2.32e9}
#: the column naming each run's training set (the paper's tables)
UPSTREAM_COL = "upstream_dataset"

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
    study's `data_size` column (image-text pairs), else the paper's sets (PAPER_UNIQUE) when every
    row's `upstream_dataset` is one of them; None when the table does not say."""
    if "data_size" in rows.columns:
        u = pd.to_numeric(rows["data_size"], errors="coerce").to_numpy(float)
        return u if u.size and np.all(np.isfinite(u)) and np.all(u > 0) else None
    if UPSTREAM_COL in rows.columns and len(rows) and rows[UPSTREAM_COL].isin(list(PAPER_UNIQUE)).all():
        return rows[UPSTREAM_COL].map(PAPER_UNIQUE).to_numpy(float)
    return None
