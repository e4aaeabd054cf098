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
from clipscale.data.cache import default_cache_dir, rendered
from clipscale.data.captions import caption, noun_phrase
from clipscale.data.embedded import SPLITS, EmbeddedDataset, heldout, normalize
from clipscale.data.grammar import (Obj, Scene, Text, render, sample_count, sample_obj, sample_relation,
                                    sample_scene, sample_text, scene_of)
from clipscale.data.shards import read_shards, write_shards
from clipscale.data.vocab import (COLOURS, COUNTS, GRAMMAR_VERSION, NUMBERS, POSITIONS, RELATIONS, SHAPES,
                                  SIZES, TEXTURES, WORDS)

__all__ = [
    "EmbeddedDataset", "heldout", "normalize", "SPLITS",
    "Scene", "Obj", "Text", "sample_scene", "sample_obj", "sample_count", "sample_relation", "sample_text",
    "scene_of", "render", "caption", "noun_phrase",
    "SHAPES", "COLOURS", "SIZES", "POSITIONS", "TEXTURES", "COUNTS", "RELATIONS", "WORDS", "NUMBERS",
    "GRAMMAR_VERSION", "write_shards", "read_shards", "rendered", "default_cache_dir",
]
