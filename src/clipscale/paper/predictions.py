"""Zero-shot predictions for larger models and budgets, as the paper's figure notebook makes them.

figures.ipynb (LAION-AI/scaling-laws-openclip, prediction cell): fit the paper's law on every
OpenCLIP (LAION) run of the target dataset; predict the error of each architecture in ARCHS at each
budget in BUDGETS (total GMACs = per-sample GMACs from arch_info.csv x samples seen); where runs of
that architecture and samples-seen bucket exist, the actual value is the lowest error among them
(any LAION dataset). The mean absolute error over those rows is 0.874 (ImageNet) and 0.588
(MS-COCO image retrieval) error-percentage points. The law is fitted on the same runs it is compared
with, so this MAE measures the fit at known scales; use clipscale.laws.backtest for held-out checks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clipscale.errors import DataError
from clipscale.laws import fit
from clipscale.schema import GROUP_OPENCLIP, default_metric, paper_group
from clipscale.laws.defaults import N_BOOT, SEED

# figures.ipynb: 3B = 80,000,415 x 32 epochs, 13B = 407,332,084 x 32, 34B = 407,332,084 x 84, 68B = 2 x 34B.
BUDGETS: tuple[tuple[str, float], ...] = (
    ("1B", 1e9), ("3B", 80_000_415 * 32), ("13B", 407_332_084 * 32), ("34B", 407_332_084 * 84),
    ("68B", 407_332_084 * 84 * 2),
)
ARCHS = ("ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-H-14", "ViT-g-14", "ViT-G-14")
PREDICTION_DATASETS = ("imagenet1k", "mscoco_captions")
# The extrapolated points the notebook labels in its figure.
HIGHLIGHT = ("g/14 (34B)", "H/14 (68B)", "G/14 (34B)", "G/14 (68B)")


def label(arch: str, bucket: str) -> str:
    """'ViT-g-14', '34B' -> 'g/14 (34B)' (the notebook's labels)."""
    return f"{arch.replace('ViT-', '').replace('-', '/')} ({bucket})"


def predict_targets(results: pd.DataFrame, archs: pd.DataFrame, dataset: str, *, level: float = 0.95,
                    n_boot: int = N_BOOT, seed: int = SEED):
    """(table, law): table has target, label, gmacs_total, pred_err_pct, actual_err_pct (NaN when no
    run), pred_lo_pct, pred_hi_pct (prediction interval at `level`); errors in percent."""
    if archs is None:
        raise DataError("the prediction figures need arch_info.csv (per-sample GMACs); put the paper's "
                        "arch_info.csv beside --results or run online")
    d = results[(results["downstream_dataset"] == dataset) & results["arch"].isin(ARCHS)]
    d = d[d["upstream_dataset"].map(paper_group) == GROUP_OPENCLIP]
    if d.empty:
        raise DataError(f"no OpenCLIP rows for downstream_dataset {dataset!r}; check the results table")
    err = 1.0 - d[default_metric(dataset)]
    law = fit(d["gmacs_total"], err, "paper", n_boot=n_boot, seed=seed, label=f"({dataset}, openclip)")
    gmacs = archs.set_index("model")["gmacs"]
    missing = [a for a in ARCHS if a not in gmacs.index]
    if missing:
        raise DataError(f"arch_info.csv lacks {missing}; pass the paper's arch_info.csv")
    rows = []
    for arch in ARCHS:
        for bucket, samples in BUDGETS:
            runs = err[(d["arch"] == arch) & (d["samples_seen_pretty"] == bucket)]
            rows.append((label(arch, bucket), float(gmacs[arch]) * samples,
                         float(runs.min()) * 100 if len(runs) else np.nan))
    c = np.array([r[1] for r in rows])
    lo, hi = law.predict_interval(c, level=level) if n_boot else (np.full(len(c), np.nan),) * 2
    table = pd.DataFrame({
        "target": dataset, "label": [r[0] for r in rows], "gmacs_total": c,
        "pred_err_pct": law.predict(c) * 100, "actual_err_pct": [r[2] for r in rows],
        "pred_lo_pct": np.asarray(lo) * 100, "pred_hi_pct": np.asarray(hi) * 100,
    })
    return table, law


def mae_pct(table: pd.DataFrame) -> float:
    """Mean |pred - actual| in error-percentage points over the rows with an actual value."""
    has = table["actual_err_pct"].notna()
    return float((table.loc[has, "pred_err_pct"] - table.loc[has, "actual_err_pct"]).abs().mean())
