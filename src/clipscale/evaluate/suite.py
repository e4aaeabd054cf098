"""`evaluate_suite`: one checkpoint on a named suite of benchmarks (the paper's 38), read in
CLIP_benchmark's webdataset format from the HF hub (huggingface_hub's cache) or a local copy.

Each dataset gets its own metric (acc1, acc5 and mean per-class recall; mAP for voc2007_multilabel;
recall@1/5/10 for mscoco_captions and flickr30k). A dataset that cannot be had is reported with its
reason and the others go on; the paper's aggregates (evaluate.aggregates) are added when all their
components were evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from clipscale.errors import DataError, unknown
from clipscale.evaluate import wds
from clipscale.evaluate.aggregates import aggregate_rows
from clipscale.evaluate.checkpoints import load_model
from clipscale.evaluate.features import FeatureCache
from clipscale.evaluate.progress import ProgressArg
from clipscale.evaluate.results import make_row, to_frame
from clipscale.evaluate.checkpoint_eval import check_device, run_task
from clipscale.evaluate.tasks import PAPER_BENCHMARKS, get_task

SUITES: dict[str, tuple[str, ...]] = {"paper": PAPER_BENCHMARKS}


@dataclass(frozen=True)
class Missing:
    """A dataset of the suite that could not be evaluated, and why."""

    dataset: str
    reason: str


def suite_datasets(suite: str, only: str | list[str] | None = None) -> list[str]:
    """The datasets of `suite` (optionally only some, comma-separated); NotFoundError lists what exists."""
    if suite not in SUITES:
        raise unknown("suite", suite, SUITES)
    names = list(SUITES[suite])
    if only is None:
        return names
    wanted = [p.strip() for p in (only.split(",") if isinstance(only, str) else only) if p.strip()]
    for w in wanted:
        if w not in names:
            raise unknown(f"dataset of suite {suite!r}", w, names)
    return wanted


def _open(name: str, dataset_root, endpoint, cache_dir, limit):
    root = wds.local_copy(name, dataset_root) if dataset_root else wds.fetch(name, endpoint=endpoint,
                                                                               cache_dir=cache_dir)
    return wds.read(root, name, limit=limit)


def evaluate_suite(arch: str, checkpoint=None, suite: str = "paper", datasets=None, *, dataset_root=None,
                   endpoint: str | None = None, cache_dir=None, device: str = "cpu", batch_size: int = 256,
                   meta: dict | None = None, limit: int | None = None,
                   progress: ProgressArg = False) -> tuple[pd.DataFrame, list[Missing]]:
    """Rows (results schema, metrics as fractions) of one checkpoint on a suite, and the datasets missed.

    dataset_root: a folder with local copies (DIR/wds_<name> or DIR/<name>, '/' as '-'); None: fetch
    `clip-benchmark/wds_<name>` from the hub (`endpoint`, default huggingface_hub's) into its cache.
    """
    check_device(device)
    names = suite_datasets(suite, datasets)
    model, preprocess, tokenizer, info = load_model(arch, checkpoint, device=device)
    cache = FeatureCache(model, preprocess, batch_size=batch_size, device=device, progress=progress)
    rows, missing = [], []
    for name in names:
        task = get_task(name)
        try:
            data = _open(name, dataset_root, endpoint, cache_dir, limit)
            metrics, n_images, n_skipped = run_task(task, data, cache, model, tokenizer, device)
        except DataError as exc:
            missing.append(Missing(name, str(exc)))
            continue
        rows.append(make_row(task, metrics, arch=arch, info=info, meta=meta or {}, n_images=n_images,
                             n_skipped=n_skipped))
    df = to_frame(rows)
    if len(df):
        df = pd.concat([df, aggregate_rows(df)], ignore_index=True)
    return df, missing
