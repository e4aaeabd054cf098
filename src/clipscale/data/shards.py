"""Webdataset tar shards in the LAION/img2dataset layout: `{key}.png|jpg`, `{key}.txt`, `{key}.json`.

`write_shards` turns any indexable (image, caption) dataset into shards (each shard written to a
temporary file and renamed); `read_shards` yields (uint8 [H, W, 3], caption) from brace patterns such
as 'shards/{000000..000009}.tar', so a trainer reads real LAION shards and the embedded data alike.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

from clipscale._io import atomic_path
from clipscale.errors import DataError, UserInputError

IMAGE_FORMATS = ("png", "jpg")
_IMAGE_KEYS = "jpg;png;jpeg;webp"


def _encode(image: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    pil = Image.fromarray(np.asarray(image, dtype=np.uint8), mode="RGB")
    if fmt == "jpg":
        pil.save(buf, format="JPEG", quality=95)
    else:
        pil.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def write_shards(dataset: Sequence, pattern: str, samples_per_shard: int = 10_000,
                 image_format: str = "png") -> list[Path]:
    """Write `dataset` (ds[i] -> (uint8 [H, W, 3], caption)) as tar shards; returns their paths.

    pattern: a path with one '%d'-style field for the shard number, e.g. 'out/%06d.tar'.
    Keys are the sample index, zero-padded to 9 digits as img2dataset does. PNG is lossless
    (default); JPEG (quality 95) is LAION's format. Shard bytes are deterministic (mtime 0).
    """
    import webdataset as wds

    if image_format not in IMAGE_FORMATS:
        raise UserInputError(f"unknown image_format {image_format!r}; valid choices: {', '.join(IMAGE_FORMATS)}")
    if "%" not in pattern:
        raise UserInputError(f"shard pattern {pattern!r} has no '%d' field; use e.g. 'shards/%06d.tar'")
    if int(samples_per_shard) < 1:
        raise UserInputError(f"samples_per_shard must be >= 1, got {samples_per_shard}")
    n, per = len(dataset), int(samples_per_shard)
    paths = []
    for shard, start in enumerate(range(0, n, per)):
        path = Path(pattern % shard)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            writer = wds.TarWriter(fh, encoder=False, mtime=0.0)
            for i in range(start, min(start + per, n)):
                image, text = dataset[i]
                key = f"{i:09d}"
                meta = {"key": key, "caption": text, "width": int(image.shape[1]), "height": int(image.shape[0])}
                writer.write({"__key__": key, image_format: _encode(image, image_format),
                              "txt": text.encode("utf-8"), "json": json.dumps(meta).encode("utf-8")})
            writer.close()
        paths.append(path)
    return paths


def read_shards(urls: str | list[str], split_by_node: bool = False,
                split_by_worker: bool = True) -> Iterator[tuple[np.ndarray, str]]:
    """Yield (uint8 [H, W, 3], caption) from shards in order; urls may use brace patterns.

    split_by_node: give each distributed rank its own subset of shards (torch.distributed set up).
    """
    import webdataset as wds

    nodesplitter = wds.split_by_node if split_by_node else wds.single_node_only
    workersplitter = wds.split_by_worker if split_by_worker else None
    try:
        pipeline = (wds.WebDataset(urls, shardshuffle=False, nodesplitter=nodesplitter, workersplitter=workersplitter,
                                   empty_check=False)
                    .decode("rgb8").to_tuple(_IMAGE_KEYS, "txt"))
        for image, text in pipeline:
            yield np.ascontiguousarray(image[..., :3], dtype=np.uint8), text
    except FileNotFoundError as exc:
        raise DataError(f"shard not found: {exc.filename}; check the --train-data pattern "
                        f"(brace form 'shards/{{000000..000009}}.tar')") from exc
    except ValueError as exc:
        if "missing" in str(exc) or "to_tuple" in str(exc):
            raise DataError(f"a sample in {urls} lacks an image ({_IMAGE_KEYS}) or a .txt caption: {exc}; "
                            "shards need the LAION/img2dataset layout") from exc
        raise
