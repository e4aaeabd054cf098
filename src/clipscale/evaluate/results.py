"""Results rows in the paper's schema, and an append that never loses rows.

Columns: `schema.RESULT_COLUMNS` first (metrics as fractions in [0, 1], `gmacs` per sample,
`gmacs_total = gmacs * samples_seen`), then RUN_COLUMNS (which weights, which task version), then
the other metrics (recall@1/@10, the probe's C).
"""
from __future__ import annotations

import contextlib
import fcntl
import math
import os
from pathlib import Path
from typing import Iterator

import pandas as pd

from clipscale import __version__
from clipscale._io import atomic_write_with
from clipscale.compute import gmacs_per_sample
from clipscale.errors import DataError
from clipscale.schema import CHANCE_COL, N_TEST_COL, RESULT_COLUMNS, pretty_samples

RUN_COLUMNS: tuple[str, ...] = (
    "checkpoint", "checkpoint_sha256", "epoch", "samples_seen_source", "task_version", "eval_task",
    "fewshot_k", "n_images", "n_skipped", "clipscale_version", N_TEST_COL, CHANCE_COL,
)
EXTRA_METRICS: tuple[str, ...] = (
    "image_retrieval_recall@1", "image_retrieval_recall@10", "text_retrieval_recall@1",
    "text_retrieval_recall@10", "probe_C", "train_images",
)
COLUMNS: tuple[str, ...] = RESULT_COLUMNS + RUN_COLUMNS + EXTRA_METRICS


def make_row(task, metrics: dict, *, arch: str, info, meta: dict, n_images: int, n_skipped: int) -> dict:
    """One results row (dict over COLUMNS) for a task's metrics on one checkpoint."""
    samples, source = info.samples_seen, "checkpoint"
    if meta.get("samples_seen") is not None:
        samples, source = float(meta["samples_seen"]), "meta"
    elif samples is None:
        source = "unknown"
    gmacs = float(meta["gmacs"]) if meta.get("gmacs") is not None else gmacs_per_sample(arch)
    name = meta.get("name") or (Path(info.path).name if info.path else f"{arch}-untrained")
    row = {c: math.nan for c in COLUMNS}
    row.update({
        "arch": arch, "samples_seen": samples if samples is not None else math.nan,
        "gmacs": gmacs, "gmacs_total": gmacs * samples if samples is not None else math.nan,
        "upstream_dataset": meta.get("upstream_dataset", "unknown"),
        "downstream_dataset": task.downstream_dataset, "task": task.kind,
        "samples_seen_pretty": pretty_samples(samples) if samples is not None else "",
        "name": name, "checkpoint": info.path or "", "checkpoint_sha256": info.sha256 or "",
        "epoch": info.epoch if info.epoch is not None else meta.get("epoch", math.nan),
        "samples_seen_source": source, "task_version": task.version, "eval_task": task.name,
        "fewshot_k": task.fewshot_k if task.fewshot_k is not None else math.nan,
        "n_images": n_images, "n_skipped": n_skipped, "clipscale_version": __version__,
        # the test images the metric was measured on (its binomial noise) and the task's chance error
        N_TEST_COL: n_images, CHANCE_COL: math.nan if task.chance_error is None else task.chance_error,
    })
    row.update({k: v for k, v in metrics.items() if k in row})
    return row


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a DataFrame with COLUMNS in order (the paper's columns first)."""
    return pd.DataFrame(rows, columns=list(COLUMNS))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results CSV written by append_results (or the paper's zeroshot_results.csv)."""
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a results CSV ({exc}); pass a file written by `clipscale eval --out`") from exc


def append_results(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Append rows to a results CSV: the old rows are kept, the file is replaced atomically.

    A lock file beside the CSV serialises concurrent writers, so parallel evaluations never drop
    each other's rows; columns are the union (old order first). Returns the path.
    """
    path = Path(path)
    with _locked(path):
        old = read_results(path) if path.exists() and path.stat().st_size > 0 else None
        if old is not None:
            missing = [c for c in RESULT_COLUMNS if c not in old.columns]
            if missing:
                raise DataError(f"{path} lacks the results columns {missing}; write to a new --out file")
            cols = list(old.columns) + [c for c in df.columns if c not in old.columns]
            merged = pd.concat([old, df], ignore_index=True)[cols]
        else:
            merged = df
        atomic_write_with(path, lambda tmp: merged.to_csv(tmp, index=False))
    return path
