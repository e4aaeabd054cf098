"""What each task evaluates on: image sources, class names, prompts and splits.

`task_data(task, ...)` -> TaskData. Sources: the embedded suite (embedded.py), scikit-learn's
handwritten digits, and the paper's benchmarks through clip_benchmark's dataset builder.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from clipscale.errors import DataError, UserInputError
from clipscale.evaluate import compat, embedded
from clipscale.evaluate.features import ImageSource
from clipscale.evaluate.tasks import (LINEAR_PROBE, SOURCE_CLIP_BENCHMARK, SOURCE_DIGITS, SOURCE_EMBEDDED,
                                      ZEROSHOT_RETRIEVAL, Task)

DIGITS_TEMPLATES = ["a photo of the number {c}.", "a photo of the digit {c}.", "a scan of the handwritten number {c}."]
DIGITS_SIZE = 32  # 8x8 scans upsampled (bilinear) to the ladder's resolution


@dataclass
class TaskData:
    """Images and prompts of one task; `train` holds the images of a linear probe's training split."""

    test: ImageSource
    classnames: list[str]
    templates: Any = None  # list of '{c}' templates or dict class -> prompts
    label: Callable[[Any], Any] = int  # target -> class index (or multi-hot row)
    per_image_prompts: Callable | None = None  # target -> per-class prompt lists
    train: ImageSource | None = None
    multilabel: bool = False


def spread_rows(n: int, limit: int | None) -> np.ndarray:
    """Indices of at most `limit` of n items, evenly spread (folders sorted by class stay mixed)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, int(limit)).round().astype(np.int64))


# ---- scikit-learn digits -------------------------------------------------------------------

@lru_cache(maxsize=1)
def _digits():
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()  # 1797 scans, 8x8, ink 0-16
    ink = (255 - np.round(d.images / 16.0 * 255)).astype(np.uint8)  # dark ink on white paper
    images = np.stack([np.asarray(Image.fromarray(a).resize((DIGITS_SIZE, DIGITS_SIZE), Image.BILINEAR)) for a in ink])
    images = np.repeat(images[..., None], 3, axis=3)
    train, test = train_test_split(np.arange(len(d.target)), test_size=0.5, random_state=0, stratify=d.target)
    return images, d.target.astype(np.int64), np.asarray(train), np.asarray(test)


def _digits_data(limit: int | None) -> TaskData:
    images, labels, train, test = _digits()

    def split(name: str, rows: np.ndarray) -> ImageSource:
        rows = rows if limit is None else rows[: int(limit)]  # rows are already in shuffled order
        src = ImageSource(f"digits/sklearn/v1/{name}/n={len(rows)}", len(rows),
                          lambda j: (images[rows[j]], int(labels[rows[j]])), lambda j: f"digits[{rows[j]}]")
        return src

    return TaskData(split("test", test), [str(i) for i in range(10)], DIGITS_TEMPLATES, train=split("train", train))


# ---- the embedded suite --------------------------------------------------------------------

def _embedded_data(task: Task, limit: int | None, need_train: bool) -> TaskData:
    spec = embedded.embedded_tasks()[task.dataset]
    n = embedded.family_size(spec.family)
    n = n if limit is None else min(n, int(limit))
    test = embedded.source(spec.family, "test", n)
    train = embedded.source(spec.family, "train", n) if need_train else None
    return TaskData(test, list(spec.classnames), spec.templates, spec.label, spec.per_image_prompts, train,
                    spec.multilabel)


# ---- clip_benchmark's builder -----------------------------------------------------------------

def benchmark_root(dataset: str, data_root: str | os.PathLike | None) -> Path:
    """Folder of a benchmark: DATA_ROOT/<name, '/' -> '-'>, or DATA_ROOT itself formatted with {dataset}."""
    if data_root is None:
        raise DataError(f"dataset {dataset!r} needs its files on disk; pass --data-root DIR "
                        f"(DIR/{dataset.replace('/', '-')} in clip_benchmark's layout)")
    text = str(data_root)
    if "{dataset" in text:
        return Path(text.format(dataset=dataset, dataset_cleaned=dataset.replace("/", "-")))
    return Path(text) / dataset.replace("/", "-")


def _build(builder, dataset: str, root: Path, split: str, kind: str):
    if not root.is_dir():
        raise DataError(f"dataset {dataset!r} not found at {root}; download it in clip_benchmark's layout "
                        f"and pass its parent folder as --data-root")
    try:
        return builder.build_dataset(dataset, root=str(root), transform=None, split=split, download=False,
                                     task="zeroshot_retrieval" if kind == ZEROSHOT_RETRIEVAL else "zeroshot_classification")
    except (DataError, UserInputError):
        raise
    except ImportError as exc:
        raise DataError(f"dataset {dataset!r} needs {exc.name or exc}; install it to read {root}") from exc
    except (AssertionError, FileNotFoundError, RuntimeError, OSError, ValueError, KeyError, IndexError) as exc:
        raise DataError(f"dataset {dataset!r} at {root} is not in the layout clip_benchmark expects "
                        f"({type(exc).__name__}: {exc}); see docs/evaluate.md") from exc


def _wrap(ds, dataset: str, split: str, root: Path, limit: int | None) -> ImageSource:
    """The dataset's items (at most `limit`, evenly spread) as a source; same files, same key."""
    rows = spread_rows(len(ds), limit)
    samples = getattr(ds, "samples", None) or getattr(ds, "imgs", None)

    def name(j: int) -> str:
        return str(samples[rows[j]][0]) if samples else f"{dataset}[{split}][{rows[j]}]"

    key = f"clip_benchmark/{dataset}/{split}/{root.resolve()}/n={len(rows)}"
    return ImageSource(key, len(rows), lambda j: ds[int(rows[j])], name)


def _check_labels(ds, dataset: str, root: Path) -> None:
    targets = getattr(ds, "targets", None)
    classes = getattr(ds, "classes", None)
    if targets is not None and classes is not None and len(targets) and int(np.max(targets)) >= len(classes):
        raise DataError(f"dataset {dataset!r} at {root} has {int(np.max(targets)) + 1} class folders but "
                        f"clip_benchmark names {len(classes)} classes; check the folder layout")


def _benchmark_data(task: Task, data_root, limit: int | None, need_train: bool) -> TaskData:
    root = benchmark_root(task.dataset, data_root)
    with compat.patched() as builder:
        ds = _build(builder, task.dataset, root, "test", task.kind)
        _check_labels(ds, task.dataset, root)
        train = _build(builder, task.dataset, root, "train", task.kind) if need_train else None
    test = _wrap(ds, task.dataset, "test", root, limit)
    classnames = list(getattr(ds, "classes", None) or [])
    templates = getattr(ds, "templates", None)
    if task.kind != ZEROSHOT_RETRIEVAL and (not classnames or not templates):
        raise DataError(f"clip_benchmark gave no class names or templates for {task.dataset!r}")
    label = (lambda t: np.asarray(t, dtype=np.float32)) if task.multilabel else int
    train_src = _wrap(train, task.dataset, "train", root, limit) if train is not None else None
    return TaskData(test, classnames, templates, label, None, train_src, task.multilabel)


def task_data(task: Task, *, data_root=None, limit: int | None = None, need_train: bool | None = None) -> TaskData:
    """Images, class names and prompts of a task; `limit` caps images per split (quick runs, tests).

    need_train: also the train split (None: only for linear probes; fine-tuning asks for it).
    """
    need_train = task.kind == LINEAR_PROBE if need_train is None else need_train
    if task.source == SOURCE_EMBEDDED:
        return _embedded_data(task, limit, need_train)
    if task.source == SOURCE_DIGITS:
        return _digits_data(limit)
    if task.source == SOURCE_CLIP_BENCHMARK:
        return _benchmark_data(task, data_root, limit, need_train)
    raise UserInputError(f"task {task.name!r} has an unknown source {task.source!r}")  # pragma: no cover
