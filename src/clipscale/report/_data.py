"""Normalise the report's inputs: the results table (the paper's schema) and learning curves.

Nothing here raises on bad *content*: the report must still render and say what is missing, so
problems are collected as sentences in a `Problems` list and shown at the top of the page.
Only a wrong *type* (not a DataFrame) is a caller error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clipscale.errors import DataError
from clipscale.schema import CHANCE_COL, EVAL_KIND_COL, default_metric, paper_group, pretty_samples
from clipscale.train.branches import WHOLE_RUN

# Columns of the normalised points table (one row per model x downstream dataset).
POINT_COLUMNS = ("downstream_dataset", "group", "arch", "data", "samples_seen", "samples_pretty",
                 "compute", "metric", "error", "name", EVAL_KIND_COL, "panel", "chance", "unique")
# Readable names of the evaluation kinds (schema.EVAL_KIND_COL: clipscale.evaluate.tasks.KINDS and
# clipscale.evaluate.finetune.FINETUNE); zero-shot panels keep the dataset's plain name.
EVAL_LABELS = {"zeroshot_classification": "zero-shot", "zeroshot_retrieval": "zero-shot",
               "linear_probe": "linear probe", "finetune": "fine-tune"}
# Columns of the normalised learning-curves table (one row per checkpoint x downstream dataset).
CURVE_COLUMNS = ("name", "arch", "data", "samples_pretty", "downstream_dataset", "epoch",
                 "samples_seen", "step", "error")

# The paper's checkpoint names: Model-B-32_Data-400M_Samples-13B_lr-1e-3_bs-86k.pt
# (imagenet_zeroshot_learning_curves.csv, trained_models_info.csv).
_PAPER_NAME = re.compile(r"Model-(?P<arch>[^_]+)_Data-(?P<data>[^_]+)_Samples-(?P<samples>[^_]+)"
                         r"(?:_.*?bs-(?P<bs>[0-9.]+)(?P<bs_unit>[kKmM]?))?")
PAPER_CURVE_METRIC = "imagenet-zeroshot-val-top1"
_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "B": 1e9, "b": 1e9}


@dataclass
class Problems:
    """Sentences that say what is missing or was dropped; shown at the top of the report."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)


def _require_frame(obj, what: str) -> pd.DataFrame:
    if not isinstance(obj, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(obj).__name__}; "
                        f"read the CSV with pandas.read_csv first")
    return obj


def parse_count(text) -> float:
    """'13B' -> 13e9, '86k' -> 86e3, '400M' -> 4e8; NaN when it is not a count."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMbB]?)\s*", str(text))
    return float(m.group(1)) * _SUFFIX[m.group(2)] if m else float("nan")


def normalise_results(results: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """Rows of the paper's results schema -> POINT_COLUMNS, read by clipscale.laws.prepare_table
    (error = 1 - the dataset's default metric, `group` from upstream_dataset unless given).

    `compute` is total GMACs (`gmacs_total`, or `gmacs` x `samples_seen` when only those are given);
    `error` is a fraction in (0, 1]; `panel` is what the report shows one plot for (`panel_name`).
    Rows that cannot be placed on a log-log plot are dropped and counted.
    """
    from clipscale.laws import prepare_table

    results = _require_frame(results, "results")
    if results.empty:
        problems.add("The results table is empty: no scaling plot, fits or predictions can be shown.")
        return pd.DataFrame(columns=POINT_COLUMNS)
    df = results.copy()
    if "gmacs_total" not in df.columns and {"gmacs", "samples_seen"} <= set(df.columns):
        df["gmacs_total"] = np.nan  # derived by prepare_table; here only so the check below passes
    missing = [c for c in ("downstream_dataset", "gmacs_total") if c not in df.columns]
    if missing:
        problems.add(f"The results table lacks the column(s) {', '.join(missing)} (found: "
                     f"{', '.join(map(str, df.columns[:12]))}); it must follow clipscale.schema.RESULT_COLUMNS.")
        return pd.DataFrame(columns=POINT_COLUMNS)
    data = prepare_table(results, compute_col="gmacs_total", wide=False, bad="drop")
    for metric, datasets in data.attrs["no_metric"].items():
        problems.add(f"The results table has no {metric!r} column, needed for {', '.join(datasets[:5])}.")
    dropped = data.attrs["dropped"]
    if dropped:
        problems.add(f"{dropped} of {len(results)} result rows were left out: their total GMACs is "
                     f"missing or not positive, or their metric is missing or outside (0, 1).")
    return _points_from(data.reset_index(drop=True))


def panel_name(dataset, eval_kind) -> str:
    """The report's plot for a downstream dataset and evaluation kind: the dataset's name for
    zero-shot rows (and rows without a kind), 'dataset · linear probe' or 'dataset · fine-tune'."""
    label = EVAL_LABELS.get(str(eval_kind), None if _blank(eval_kind) else str(eval_kind))
    return str(dataset) if label in (None, "zero-shot") else f"{dataset} · {label}"


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v) in ("", "nan", "None")


def _points_from(df: pd.DataFrame) -> pd.DataFrame:
    from clipscale.laws.noise import unique_samples
    from clipscale.laws.table import COMPUTE, ERROR, METRIC

    n = len(df)
    col = lambda name, default: df[name] if name in df.columns else pd.Series([default] * n, index=df.index)
    out = pd.DataFrame({"downstream_dataset": df["downstream_dataset"].astype(str), "metric": df[METRIC],
                        "error": df[ERROR].astype(float), "compute": df[COMPUTE].astype(float)})
    data = col("upstream_dataset", "unknown").astype(str)
    out["data"] = data
    out["group"] = col("group", paper_group("unknown")).astype(str)
    out["arch"] = col("arch", "unknown").astype(str)
    seen = pd.to_numeric(col("samples_seen", np.nan), errors="coerce")
    out["samples_seen"] = seen
    pretty = df["samples_seen_pretty"].astype(str) if "samples_seen_pretty" in df.columns else seen.map(
        lambda v: pretty_samples(v) if np.isfinite(v) else "unknown")
    out["samples_pretty"] = pretty
    out[EVAL_KIND_COL] = col(EVAL_KIND_COL, "").map(lambda k: "" if _blank(k) else str(k))
    out["panel"] = [panel_name(d, k) for d, k in zip(out["downstream_dataset"], out[EVAL_KIND_COL])]
    out["name"] = run_names(df, out)
    out["chance"] = pd.to_numeric(col(CHANCE_COL, np.nan), errors="coerce")  # the task's chance error (fraction)
    unique = unique_samples(df)  # U of a per-run law that knows data repetition (NaN when not given)
    out["unique"] = np.nan if unique is None else unique
    return out[list(POINT_COLUMNS)]


def run_names(df: pd.DataFrame, out: pd.DataFrame) -> pd.Series:
    """The run each row comes from: a study's `run` column (its checkpoint `name` is 'epoch_1.pt' in
    every run), with the samples seen when the run has several rows of one dataset (a cool-down
    run's branches); else `name`; else 'arch data'."""
    if "run" in df.columns and not df["run"].map(_blank).any():
        run = df["run"].astype(str)
        repeated = run.groupby([run, out["panel"]]).transform("size") > 1
        return run.where(~repeated, run + " @ " + out["samples_pretty"].astype(str) + " samples")
    if "name" in df.columns:
        return df["name"].astype(str)
    return out["arch"] + " " + out["data"]


def normalise_curves(curves: pd.DataFrame | None, results: pd.DataFrame | None, problems: Problems) -> pd.DataFrame:
    """Learning curves in either layout -> CURVE_COLUMNS (error = 1 - top-1 accuracy, a fraction).

    Paper layout (imagenet_zeroshot_learning_curves.csv): `imagenet-zeroshot-val-top1`, `name`,
    `epoch`; arch, data and samples seen come from the checkpoint name, samples seen at an epoch is
    epoch / last epoch x the run's samples seen (from `results` when it lists the run, else the
    name's bucket), and step = samples seen / global batch size from the name (`bs-86k`).
    clipscale layout: `name`, `arch`, `upstream_dataset` or `data`, `samples_seen`, `epoch`, `acc1`.
    """
    if curves is None:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    curves = _require_frame(curves, "curves")
    if curves.empty:
        problems.add("The learning-curves table is empty: no learning curves can be shown.")
        return pd.DataFrame(columns=CURVE_COLUMNS)
    layout = curve_layout(curves)
    if layout == "clipscale":
        out = _clipscale_curves(curves)
    elif layout == "paper":
        out = _paper_curves(curves, results)
    else:
        problems.add(f"The learning-curves table has neither the paper's layout ({PAPER_CURVE_METRIC}, "
                     f"name, epoch) nor clipscale's (name, arch, samples_seen, epoch, acc1); found: "
                     f"{', '.join(map(str, curves.columns[:12]))}.")
        return pd.DataFrame(columns=CURVE_COLUMNS)
    ok = out["error"].between(0, 1) & out["epoch"].notna()
    if (~ok).any():
        problems.add(f"{int((~ok).sum())} learning-curve rows were left out (epoch or accuracy missing or out of range).")
    return out.loc[ok, list(CURVE_COLUMNS)].sort_values(["name", "epoch"]).reset_index(drop=True)


def curve_layout(curves) -> str | None:
    """'clipscale' (acc1 and epoch: also clipscale.paper.curves.prepare_curves' output, which has exact
    samples seen and steps), 'paper' (the paper's raw CSV) or None."""
    if not isinstance(curves, pd.DataFrame):
        return None
    if {"acc1", "epoch"} <= set(curves.columns):
        return "clipscale"
    return "paper" if {PAPER_CURVE_METRIC, "name", "epoch"} <= set(curves.columns) else None


def _paper_curves(curves: pd.DataFrame, results: pd.DataFrame | None) -> pd.DataFrame:
    out = pd.DataFrame({"name": curves["name"].astype(str),
                        "epoch": pd.to_numeric(curves["epoch"], errors="coerce"),
                        "error": 1.0 - pd.to_numeric(curves[PAPER_CURVE_METRIC], errors="coerce")})
    out["downstream_dataset"] = "imagenet1k"
    parsed = out["name"].map(_parse_paper_name)
    out["arch"] = parsed.map(lambda p: p["arch"])
    # Every run in the paper's curves was trained on LAION ("Data-2B" is LAION-2B), and the results
    # table calls the data LAION-2B: use the same label so styles and filters match.
    out["data"] = parsed.map(lambda p: p["data"] if p["data"] == "unknown" else f"LAION-{p['data']}")
    out["samples_pretty"] = parsed.map(lambda p: p["samples"])
    total = parsed.map(lambda p: parse_count(p["samples"]))
    exact = _exact_samples(results)
    total = out["name"].map(exact).fillna(total) if exact else total
    last_epoch = out.groupby("name")["epoch"].transform("max")
    out["samples_seen"] = out["epoch"] / last_epoch * total
    out["step"] = out["samples_seen"] / parsed.map(lambda p: p["batch"])
    return out


def _parse_paper_name(name: str) -> dict:
    m = _PAPER_NAME.match(name)
    if not m:
        return {"arch": "unknown", "data": "unknown", "samples": "unknown", "batch": float("nan")}
    batch = float(m["bs"]) * _SUFFIX[m["bs_unit"] or ""] if m["bs"] else float("nan")
    return {"arch": f"ViT-{m['arch']}", "data": m["data"], "samples": m["samples"], "batch": batch}


def _exact_samples(results: pd.DataFrame | None) -> dict:
    if not isinstance(results, pd.DataFrame) or not {"name", "samples_seen"} <= set(results.columns):
        return {}
    seen = pd.to_numeric(results["samples_seen"], errors="coerce")
    return dict(zip(results["name"].astype(str), seen))


def _clipscale_curves(curves: pd.DataFrame) -> pd.DataFrame:
    n = len(curves)
    col = lambda name, default: curves[name] if name in curves.columns else pd.Series([default] * n, index=curves.index)
    out = pd.DataFrame({"epoch": pd.to_numeric(curves["epoch"], errors="coerce")})
    out["downstream_dataset"] = col("downstream_dataset", "imagenet1k").astype(str)
    out["error"] = 1.0 - _curve_metric(curves, out["downstream_dataset"])
    out["arch"] = col("arch", "unknown").astype(str)
    data = curves["upstream_dataset"] if "upstream_dataset" in curves.columns else col("data", "unknown")
    out["data"] = data.astype(str)
    out["samples_seen"] = pd.to_numeric(col("samples_seen", np.nan), errors="coerce")
    # A study names each checkpoint; its `run` column names the run a curve belongs to.
    out["name"] = col("run" if "run" in curves.columns else "name", "").astype(str)
    out.loc[out["name"] == "", "name"] = out["arch"] + " " + out["data"]
    out["samples_pretty"] = _run_samples(out, col("samples_seen_pretty", "").astype(str))
    if "step" in curves.columns:
        out["step"] = pd.to_numeric(curves["step"], errors="coerce")
    elif "batch_size" in curves.columns:
        out["step"] = out["samples_seen"] / pd.to_numeric(curves["batch_size"], errors="coerce")
    else:
        out["step"] = np.nan
    return out


def _curve_metric(curves: pd.DataFrame, datasets: pd.Series) -> pd.Series:
    """Each row's default metric (clipscale.schema.default_metric), acc1 where that column is absent."""
    values = pd.Series(np.nan, index=curves.index, dtype=float)
    for dataset in datasets.unique():
        metric = default_metric(dataset)
        metric = metric if metric in curves.columns else "acc1"
        rows = datasets == dataset
        values[rows] = pd.to_numeric(curves.loc[rows, metric], errors="coerce")
    return values


def _run_samples(out: pd.DataFrame, given: pd.Series) -> pd.Series:
    """The run's samples-seen label: the given one when it is one per run (the paper's buckets),
    else its final samples seen (a study labels every checkpoint with its own)."""
    if (given != "").all() and given.groupby(out["name"]).nunique().max() == 1:
        return given
    final = out.groupby("name")["samples_seen"].transform("max")
    return final.map(lambda v: pretty_samples(v) if np.isfinite(v) else "unknown")


# Columns of the normalised training-loss table (one row per logged optimizer step of a run part).
TRAINING_COLUMNS = ("run", "arch", "part", "kind", "samples_seen", "loss", "lr")


def normalise_training(training: pd.DataFrame | None, problems: Problems) -> pd.DataFrame:
    """Training loss as logged (clipscale.study.orchestrate.training_curves: run, arch, part, kind,
    samples_seen, loss, lr) -> TRAINING_COLUMNS; `kind` (clipscale.train.branches: 'trunk', 'branch'
    for a cool-down branch, 'run') is taken as given, 'run' when the table has none. Rows without a
    finite loss or samples seen are dropped."""
    if training is None:
        return pd.DataFrame(columns=TRAINING_COLUMNS)
    training = _require_frame(training, "training")
    missing = [c for c in ("run", "samples_seen", "loss") if c not in training.columns]
    if missing:
        problems.add(f"The training-loss table lacks the column(s) {', '.join(missing)}; no training curves are drawn.")
        return pd.DataFrame(columns=TRAINING_COLUMNS)
    n = len(training)
    col = lambda name, default: training[name] if name in training.columns else pd.Series([default] * n, index=training.index)
    out = pd.DataFrame({"run": training["run"].astype(str), "arch": col("arch", "unknown").astype(str),
                        "part": col("part", "run").astype(str)})
    out["kind"] = col("kind", WHOLE_RUN).astype(str)
    for c in ("samples_seen", "loss", "lr"):
        out[c] = pd.to_numeric(col(c, np.nan), errors="coerce")
    ok = np.isfinite(out["samples_seen"]) & np.isfinite(out["loss"])
    return out[ok].sort_values(["run", "part", "samples_seen"], kind="stable").reset_index(drop=True)

