"""Named, versioned difficulty presets ("worlds") of the embedded scene grammar.

A world is the subset of the grammar's vocabularies that the training stream and the evaluation
tasks draw from. `full` is the whole grammar (`clipscale.data.vocab`), for machines that can afford
it; smaller worlds make the demo's tasks learnable within a CPU budget (measured difficulty of each:
docs/data.md). The active world is process-wide and read from $CLIPSCALE_WORLD (default `full`), so
study workers started by a launcher inherit it; `set_world(name)` sets it for this process and its
children. A world's name is part of `data_version()`, which keys caches, task versions and run
hashes: runs of different worlds never share a folder or a cached rendering.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from clipscale.data import vocab
from clipscale.errors import unknown

ENV = "CLIPSCALE_WORLD"
DEFAULT = "full"


@dataclass(frozen=True)
class World:
    """A difficulty preset. kind_weights: training-stream share of each scene kind (sum 1);
    texture_weights: share of each texture of `textures` (sum 1)."""

    name: str
    description: str
    shapes: tuple[str, ...]
    colours: tuple[str, ...]
    sizes: tuple[str, ...]
    textures: tuple[str, ...]
    texture_weights: tuple[float, ...]
    kind_weights: dict[str, float]

    @property
    def n_objects(self) -> int:
        """Classes of embedded/objects (colour x shape)."""
        return len(self.shapes) * len(self.colours)


WORLDS: dict[str, World] = {w.name: w for w in (
    World("full", "the whole grammar: 16 shapes x 12 colours (192 object classes), 2 sizes, 4 textures, "
                  "single/count/relation/text scenes",
          vocab.SHAPES, tuple(vocab.COLOURS), tuple(vocab.SIZES), vocab.TEXTURES, (0.55, 0.15, 0.15, 0.15),
          dict(vocab.KIND_WEIGHTS)),
    World("easy-v1", "the demo's world: 8 distinct shapes x 6 distinct colours (48 object classes), "
                     "large solid objects, single-object scenes only",
          ("circle", "square", "triangle", "star", "cross", "heart", "ring", "arrow"),
          ("red", "yellow", "green", "blue", "white", "black"), ("large",), ("solid",), (1.0,),
          {"single": 1.0, "count": 0.0, "relation": 0.0, "text": 0.0}),
    World("medium-v1", "16 shapes (confusable ones included) x 6 distinct colours (96 object classes), "
                       "large solid objects, single-object scenes only",
          vocab.SHAPES, ("red", "yellow", "green", "blue", "white", "black"), ("large",), ("solid",), (1.0,),
          {"single": 1.0, "count": 0.0, "relation": 0.0, "text": 0.0}),
    World("hard-v1", "16 shapes x 12 colours (192 object classes, the full world's), 2 sizes, solid objects, "
                     "single-object scenes only",
          vocab.SHAPES, tuple(vocab.COLOURS), tuple(vocab.SIZES), ("solid",), (1.0,),
          {"single": 1.0, "count": 0.0, "relation": 0.0, "text": 0.0}),
)}


def get_world(name: str) -> World:
    """The world of that name; an unknown name is a one-line error listing the known ones."""
    if name not in WORLDS:
        raise unknown("embedded world", name, WORLDS, fix=f"set {ENV} or the demo preset's world to a known name")
    return WORLDS[name]


def active_world() -> World:
    """The world of this process: $CLIPSCALE_WORLD, else `full`."""
    return get_world(os.environ.get(ENV) or DEFAULT)


def set_world(name: str) -> World:
    """Make `name` the world of this process and of the processes it starts."""
    world = get_world(name)
    os.environ[ENV] = world.name
    return world


def data_version():
    """The embedded data's version: the grammar version, plus the world's name unless `full`
    (so the full world's caches and run hashes are those of before worlds existed)."""
    w = active_world()
    return vocab.GRAMMAR_VERSION if w.name == DEFAULT else f"{vocab.GRAMMAR_VERSION}+{w.name}"
