"""The paper's aggregate rows (`imagenet_robustness`, `vtab`, `vtab+`) from their component rows.

The rule was recovered from the paper's own table (../shared/paper/zeroshot_results.csv, LAION-AI/
scaling-laws-openclip commit 652b1e7) and is checked against all 32 models x 3 aggregates in
tests/evaluate/test_aggregates.py (agreement to 1e-12):

- `imagenet_robustness`: mean of imagenetv2, imagenet_sketch, imagenet-a, imagenet-r, objectnet
  (ImageNet's distribution shifts; imagenet1k itself is not in it).
- `vtab`: mean of the 19 VTAB datasets: the 18 `vtab/*` rows except `vtab/cifar10`, plus `sun397`
  (VTAB's natural group holds SUN397, not CIFAR-10).
- `vtab+`: mean of all 35 zero-shot classification datasets of the table (every classification
  row except the aggregates and the multi-label `voc2007_multilabel`; retrieval rows are not in it).

Each of acc1, acc5 and mean_per_class_recall is averaged separately, skipping NaN components (the
paper's acc5 of `vtab` and `vtab+` is the mean over the datasets that have 5 classes or more:
renderedsst2, vtab/pcam and vtab/kitti_closest_vehicle_distance have no acc5). Values are fractions.
"""
from __future__ import annotations

import math

import pandas as pd

from clipscale.errors import DataError

IMAGENET_ROBUSTNESS: tuple[str, ...] = ("imagenetv2", "imagenet_sketch", "imagenet-a", "imagenet-r", "objectnet")
VTAB: tuple[str, ...] = (
    "vtab/caltech101", "vtab/cifar100", "vtab/dtd", "vtab/flowers", "vtab/pets", "sun397", "vtab/svhn",
    "vtab/eurosat", "vtab/resisc45", "vtab/pcam", "vtab/diabetic_retinopathy",
    "vtab/clevr_count_all", "vtab/clevr_closest_object_distance", "vtab/dmlab",
    "vtab/dsprites_label_x_position", "vtab/dsprites_label_orientation",
    "vtab/kitti_closest_vehicle_distance", "vtab/smallnorb_label_azimuth", "vtab/smallnorb_label_elevation",
)
VTAB_PLUS: tuple[str, ...] = tuple(sorted(set(VTAB) | set(IMAGENET_ROBUSTNESS) | {
    "imagenet1k", "vtab/cifar10", "cars", "country211", "fer2013", "fgvc_aircraft", "gtsrb", "mnist",
    "renderedsst2", "stl10", "voc2007",
}))
AGGREGATES: dict[str, tuple[str, ...]] = {
    "imagenet_robustness": IMAGENET_ROBUSTNESS, "vtab": VTAB, "vtab+": VTAB_PLUS,
}
AGGREGATED_METRICS: tuple[str, ...] = ("acc1", "acc5", "mean_per_class_recall")
MODEL_KEY: tuple[str, ...] = ("arch", "samples_seen", "upstream_dataset", "name")


def _missing_columns(df: pd.DataFrame, needed) -> list[str]:
    return [c for c in needed if c not in df.columns]


def aggregate_rows(df: pd.DataFrame, *, require_all: bool = True) -> pd.DataFrame:
    """Aggregate rows (one per model and aggregate) from component rows of the results schema.

    A model is identified by MODEL_KEY. An aggregate whose components are not all present for a
    model is left out (require_all=True, the paper's table) or averaged over what is there (False,
    marked in `n_images` as NaN). Other columns (gmacs, gmacs_total, samples_seen_pretty, ...) are
    copied from the model's first component row. Returns rows in df's columns.
    """
    missing = _missing_columns(df, MODEL_KEY + ("downstream_dataset",) + AGGREGATED_METRICS)
    if missing:
        raise DataError(f"results table lacks columns {missing}; it needs the paper's schema (schema.RESULT_COLUMNS)")
    out = []
    key = list(MODEL_KEY)
    for _, rows in df.groupby(key, dropna=False, sort=False):
        by_ds = rows.drop_duplicates("downstream_dataset", keep="last").set_index("downstream_dataset")
        for agg, parts in AGGREGATES.items():
            have = [p for p in parts if p in by_ds.index]
            if not have or (require_all and len(have) < len(parts)):
                continue
            row = {c: math.nan for c in df.columns}
            row.update(by_ds.loc[have[0]].to_dict())
            for c in df.columns:
                if "recall@" in c or c in ("mean_average_precision", "n_images", "n_skipped", "eval_task",
                                           "checkpoint_sha256", "task_version", "fewshot_k"):
                    row[c] = math.nan if c != "eval_task" else agg
            row.update({"downstream_dataset": agg, "task": "zeroshot_classification"})
            comp = by_ds.loc[have, list(AGGREGATED_METRICS)].astype(float)
            row.update(comp.mean(axis=0, skipna=True).to_dict())
            out.append(row)
    return pd.DataFrame(out, columns=df.columns)


def with_aggregates(df: pd.DataFrame) -> pd.DataFrame:
    """df plus its aggregate rows (any existing aggregate rows are replaced)."""
    base = df[~df["downstream_dataset"].isin(list(AGGREGATES))]
    return pd.concat([base, aggregate_rows(base)], ignore_index=True)
