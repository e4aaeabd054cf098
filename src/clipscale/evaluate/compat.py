"""clip_benchmark, wrapped so that its known defects never break clipscale.

clip_benchmark (LAION-AI/CLIP_benchmark) supplies the paper's dataset builders, class names and
prompt templates. Its defects, each handled here and tested in tests/evaluate/test_compat.py:

1. numpy >= 2.4: `metrics.zeroshot_classification.accuracy` calls `float()` on a 1-element 1-d
   array, which numpy 2.4 refuses (TypeError). `patched()` gives that module a `float` that accepts
   one-element arrays; its arithmetic is unchanged.
2. `requests` is imported by `datasets.builder` (through imagenetv2 and others) but not declared
   as a dependency. Without it, `patched()` installs a stand-in module whose use raises OfflineError.
3. `metrics.linear_probe.evaluate` asserts device == 'cuda'. clipscale's probe (linear_probe.py) runs
   on CPU with scikit-learn and never calls it.
4. `datasets.builder.build_dataset` shells out to wget/gdown/kaggle when a folder is missing, even
   with download=False. `patched()` replaces that shell call with an error naming --data-root.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import sys
import types
from functools import lru_cache
from importlib import resources
from typing import Iterator

import numpy as np

from clipscale.errors import DataError, OfflineError, UserInputError


def _lenient_float(x=0.0):
    """float() that also takes one-element arrays (numpy < 2.4 behaviour clip_benchmark relies on)."""
    if isinstance(x, np.ndarray) and x.size == 1:
        return float(x.reshape(()))
    return float(x)


def _requests_stand_in() -> types.ModuleType:
    mod = types.ModuleType("requests")

    def _refuse(*_args, **_kwargs):
        raise OfflineError("clip_benchmark tried to download with `requests`, which is not installed; "
                           "put the dataset under --data-root (or `pip install requests` to let it download)")

    mod.get = mod.post = mod.head = _refuse
    mod.__clipscale_stand_in__ = True
    return mod


def _refuse_shell(command, *_args, **_kwargs):
    raise DataError(f"the dataset is not complete on disk (clip_benchmark wanted to run: {str(command)[:120]}); "
                    "download it once and pass its parent folder as --data-root")


def requests_available() -> bool:
    """Whether the real `requests` package can be imported."""
    try:
        importlib.import_module("requests")
        return True
    except ImportError:
        return False


@contextlib.contextmanager
def patched() -> Iterator[types.ModuleType]:
    """Import clip_benchmark with its defects wrapped; yields `clip_benchmark.datasets.builder`.

    Raises UserInputError when clip_benchmark is not installed.
    """
    added_requests = False
    if not requests_available():
        sys.modules["requests"] = _requests_stand_in()
        added_requests = True
    try:
        try:
            builder = importlib.import_module("clip_benchmark.datasets.builder")
            zsc = importlib.import_module("clip_benchmark.metrics.zeroshot_classification")
        except ImportError as exc:
            raise UserInputError(f"clip_benchmark is needed for the paper's benchmarks ({exc}); "
                                 "`pip install 'clipscale[bench]'`") from exc
        saved_call, saved_float = builder.call, zsc.__dict__.get("float")
        builder.call = _refuse_shell
        zsc.float = _lenient_float
        try:
            yield builder
        finally:
            builder.call = saved_call
            if saved_float is None:
                del zsc.float
            else:
                zsc.float = saved_float
    finally:
        if added_requests and getattr(sys.modules.get("requests"), "__clipscale_stand_in__", False):
            del sys.modules["requests"]


@lru_cache(maxsize=None)
def packaged_json(name: str) -> dict:
    """One of clip_benchmark's packaged JSON files (read without importing its builder)."""
    try:
        text = resources.files("clip_benchmark.datasets").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise UserInputError(f"clip_benchmark's {name} not found ({exc}); `pip install 'clipscale[bench]'`") from exc
    return json.loads(text)


def templates_for(dataset: str) -> list[str]:
    """clip_benchmark's English prompt templates for a dataset (imagenet1k's when it has none)."""
    table = packaged_json("en_zeroshot_classification_templates.json")
    short = dataset.split("/", 1)[-1]
    for key in (dataset, short, "imagenet1k"):
        if key in table:
            return list(table[key])
    raise DataError(f"no templates for {dataset!r} in clip_benchmark")  # pragma: no cover (imagenet1k exists)
