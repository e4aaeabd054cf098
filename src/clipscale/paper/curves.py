"""The paper's ImageNet zero-shot learning curves with epoch, samples seen and step as x.

samples seen at an epoch = epoch x samples_per_epoch; step = samples seen / global batch, the global
batch being local_bs x gpus (trained_models_info.csv, the runs' facts).
"""
from __future__ import annotations

import pandas as pd

from clipscale.errors import DataError

CURVE_COLUMNS = ("name", "epoch", "imagenet-zeroshot-val-top1")
RUN_COLUMNS = ("name", "arch", "data", "samples_seen_pretty", "samples_per_epoch", "local_bs", "gpus")
X_AXES = {"epoch": "Epoch", "samples_seen": "Samples seen", "step": "Step"}


def prepare_curves(curves: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Curves joined with the runs' facts: adds arch, upstream_dataset, samples_seen_pretty,
    samples_seen, step and acc1 (fraction)."""
    for table, cols, what in ((curves, CURVE_COLUMNS, "learning curves"), (runs, RUN_COLUMNS, "runs info")):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            fname = "imagenet_zeroshot_learning_curves" if what == "learning curves" else "trained_models_info"
            raise DataError(f"the {what} table lacks column(s) {missing}; pass the paper's {fname}.csv")
    unknown = sorted(set(curves["name"]) - set(runs["name"]))
    if unknown:
        raise DataError(f"{len(unknown)} run(s) in the learning curves are not in the runs info, e.g. "
                        f"{unknown[0]!r}; pass the matching trained_models_info.csv")
    out = curves.merge(runs[list(RUN_COLUMNS)], on="name", how="left")
    out["upstream_dataset"] = "LAION-" + out["data"].astype(str)
    out["samples_seen"] = out["epoch"] * out["samples_per_epoch"]
    out["step"] = out["samples_seen"] / (out["local_bs"] * out["gpus"])
    out["acc1"] = out["imagenet-zeroshot-val-top1"]
    return out.sort_values(["name", "epoch"]).reset_index(drop=True)
