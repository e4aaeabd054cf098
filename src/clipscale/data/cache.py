"""Render an embedded dataset once and reuse it across runs and processes.

Because a dataset of N pairs is the prefix of any larger one with the same seed, one cached file
of M >= N pairs serves every smaller data size: a grid with data sizes 5k and 50k renders 50k
pairs once. Files are `.npy` (uint8 [M, H, W, 3], memory-mapped on load) plus `.json` captions,
written atomically, named by grammar version, seed, split and image size.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import torch

from clipscale._io import atomic_write_json, atomic_write_with
from clipscale.data.embedded import EmbeddedDataset

CHUNK = 4096  # pairs rendered per batch call


def default_cache_dir() -> Path:
    """$CLIPSCALE_CACHE/embedded, else ~/.cache/clipscale/embedded."""
    root = os.environ.get("CLIPSCALE_CACHE") or Path.home() / ".cache" / "clipscale"
    return Path(root) / "embedded"


def _stem(ds: EmbeddedDataset) -> str:
    from clipscale.data.worlds import data_version

    return f"v{data_version()}-seed{ds.seed}-{ds.split}-{ds.image_size}px"


def _largest_cached(folder: Path, stem: str, n: int) -> Path | None:
    """The smallest cached file holding at least n pairs, or None."""
    sizes = []
    for path in folder.glob(f"{stem}-n*.npy"):
        m = re.fullmatch(rf"{re.escape(stem)}-n(\d+)\.npy", path.name)
        if m and int(m.group(1)) >= n and path.with_suffix(".json").exists():
            sizes.append((int(m.group(1)), path))
    return min(sizes)[1] if sizes else None


def rendered(ds: EmbeddedDataset, cache_dir: str | os.PathLike | None = None) -> tuple[torch.Tensor, list[str]]:
    """All pairs of `ds` as (uint8 tensor [N, 3, H, W], captions), from the cache or rendered into it.

    cache_dir: where the files live (default `default_cache_dir()`); equal to `ds.batch(range(N))`.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    stem, n = _stem(ds), len(ds)
    hit = _largest_cached(folder, stem, n) if folder.exists() else None
    if hit is not None:
        images = np.load(hit, mmap_mode="r")[:n]
        captions = json.loads(hit.with_suffix(".json").read_text())[:n]
        return torch.from_numpy(np.array(images.transpose(0, 3, 1, 2), order="C")), captions
    images, captions = [], []
    for start in range(0, n, CHUNK):
        batch, texts = ds.batch(range(start, min(start + CHUNK, n)))
        images.append(batch)
        captions += texts
    out = torch.cat(images)
    path = folder / f"{stem}-n{n}.npy"
    atomic_write_json(path.with_suffix(".json"), captions)  # captions first: an .npy is only used with its .json
    atomic_write_with(path, lambda tmp: _save_npy(tmp, out.permute(0, 2, 3, 1).numpy()))
    return out, captions


def _save_npy(tmp: Path, array: np.ndarray) -> None:
    with open(tmp, "wb") as fh:
        np.save(fh, array)
