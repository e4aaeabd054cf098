"""Embedded procedural image-caption data and webdataset shards.

- `EmbeddedDataset(n_pairs, seed, image_size, split)`: sample i is a pure function of (seed, split, i);
  `ds[i] -> (uint8 [H, W, 3], caption)`, `ds.batch(indices) -> (uint8 tensor [N, 3, H, W], captions)`.
- `heldout(seed, n_pairs)`: the held-out stream (split='heldout'), disjoint from training.
- `normalize(uint8 batch) -> float tensor` equal to OpenCLIP's preprocess.
- The scene grammar (`Scene`, `Obj`, `Text`, `sample_scene`, `sample_obj`, `scene_of`, `render`,
  `caption`) and its vocabularies (`clipscale.data.vocab`) for building evaluation tasks.
- `rendered(ds, cache_dir)`: all pairs rendered once into an on-disk cache; one file serves every
  smaller data size (prefix property).
- `write_shards` / `read_shards`: LAION/img2dataset-layout tar shards through webdataset.
"""
from __future__ import annotations

import importlib

# Names are imported on first use (PEP 562): rendering needs numpy, PIL and torch, which a command
# that only checks its input, or reads a world's name, must not pay for. (No submodule may be named
# like one of these names: importing it would bind the module under that name, e.g. `render`.)
_HOME = {
    "default_cache_dir": "cache", "rendered": "cache", "caption": "captions", "noun_phrase": "captions",
    "SPLITS": "embedded", "EmbeddedDataset": "embedded", "heldout": "embedded", "normalize": "embedded",
    **dict.fromkeys(("Obj", "Scene", "Text", "render", "sample_count", "sample_obj", "sample_relation",
                     "sample_scene", "sample_text", "scene_of"), "grammar"),
    "read_shards": "shards", "write_shards": "shards",
    **dict.fromkeys(("COLOURS", "COUNTS", "GRAMMAR_VERSION", "NUMBERS", "POSITIONS", "RELATIONS", "SHAPES",
                     "SIZES", "TEXTURES", "WORDS"), "vocab"),
}

__all__ = [
    "EmbeddedDataset", "heldout", "normalize", "SPLITS",
    "Scene", "Obj", "Text", "sample_scene", "sample_obj", "sample_count", "sample_relation", "sample_text",
    "scene_of", "render", "caption", "noun_phrase",
    "SHAPES", "COLOURS", "SIZES", "POSITIONS", "TEXTURES", "COUNTS", "RELATIONS", "WORDS", "NUMBERS",
    "GRAMMAR_VERSION", "write_shards", "read_shards", "rendered", "default_cache_dir",
]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'clipscale.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"clipscale.data.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
