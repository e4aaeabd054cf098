"""What `clipscale paper fit|figures|report` do, as library calls."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from clipscale._io import atomic_write_with
from clipscale.paper import figures as F
from clipscale.paper.curves import X_AXES, prepare_curves
from clipscale.paper.data import PaperTables
from clipscale.paper.predictions import PREDICTION_DATASETS, mae_pct, predict_targets
from clipscale.laws.defaults import N_BOOT, SEED


@dataclasses.dataclass
class FigureSet:
    """Files written, the predictions table and its MAE per dataset (error-percentage points)."""

    files: list[Path]
    predictions: pd.DataFrame
    mae_pct: dict[str, float]
    notes: list[str]


def write_csv(df: pd.DataFrame, path) -> Path:
    return atomic_write_with(path, lambda tmp: df.to_csv(tmp, index=False))


def figure_count(tables: PaperTables) -> int:
    """How many figures make_figures will draw from `tables` (the total of its progress bar)."""
    scaling = sum(1 for _, _, metric, _ in F.SCALING_FIGURES if metric in tables.results.columns)
    present = set(tables.results["downstream_dataset"])
    predictions = sum(1 for d in PREDICTION_DATASETS if d in present) if tables.archs is not None else 0
    curves = len(X_AXES) if tables.curves is not None and tables.runs is not None else 0
    return scaling + predictions + curves


def make_figures(tables: PaperTables, out_dir, *, n_boot: int = N_BOOT, seed: int = SEED, progress=None) -> FigureSet:
    """All figures (PNG + PDF) and DIR/predictions.csv; `progress(msg)` is called per figure."""
    out = Path(out_dir)
    files, notes = [], list(tables.notes)
    say = progress or (lambda msg: None)
    for stem, dataset, metric, ylabel in F.SCALING_FIGURES:
        if metric not in tables.results.columns:
            notes.append(f"{stem}: column {metric!r} missing; skipped")
            continue
        say(stem)
        files += F.scaling_figure(tables.results, dataset, metric, ylabel, out / stem)
    preds, maes = [], {}
    for dataset in PREDICTION_DATASETS if tables.archs is not None else ():
        if dataset not in set(tables.results["downstream_dataset"]):
            notes.append(f"predictions for {dataset}: no rows; skipped")
            continue
        say(f"predictions_{dataset}")
        table, law = predict_targets(tables.results, tables.archs, dataset, n_boot=n_boot, seed=seed)
        maes[dataset] = mae_pct(table)
        files += F.prediction_figure(tables.results, table, law, dataset, out / f"predictions_{dataset}")
        preds.append(table)
    if tables.archs is None:
        notes.append("prediction figures skipped: they need arch_info.csv (per-sample GMACs)")
    predictions = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame()
    if preds:
        files.append(write_csv(predictions, out / "predictions.csv"))
    if tables.curves is not None and tables.runs is not None:
        curves = prepare_curves(tables.curves, tables.runs)
        for x in X_AXES:
            say(f"learning_curves_{x}")
            files += F.learning_curves_figure(curves, x, out / f"learning_curves_{x}")
    return FigureSet(files, predictions, maes, notes)
