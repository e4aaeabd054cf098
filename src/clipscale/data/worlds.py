"""Named, versioned difficulty presets ("worlds") of the embedded scene grammar.

A world is the subset of the grammar's vocabularies that the training stream and the evaluation
tasks draw from. `full` is the whole grammar (`clipscale.data.vocab`), for machines that can afford
it; smaller worlds make the demo's tasks learnable within a CPU budget (measured difficulty of each:
docs/data.md). A run records its world in its spec (`TrainSpec.world`, a study's `[train] world`),
and training, evaluation and fine-tuning of its checkpoints happen in that world (`using(name)`),
whatever the environment says. The world of work that has no run (an untrained or zoo model) is
process-wide: $CLIPSCALE_WORLD (default `full`), inherited by child processes. A world's name is
part of `data_version()`, which keys caches, task versions and run hashes: runs of different
worlds never share a folder or a cached rendering.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from clipscale.data import vocab
from clipscale.errors import UserInputError, unknown

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
        raise unknown("embedded world", name, WORLDS, fix="name a known world (a study's [train] world, "
                      f"`clipscale train --world`, or {ENV})")
    return WORLDS[name]


def active_world() -> World:
    """The world of this process: $CLIPSCALE_WORLD, else `full`."""
    return get_world(os.environ.get(ENV) or DEFAULT)


def set_world(name: str) -> World:
    """Make `name` the world of this process and of the processes it starts."""
    world = get_world(name)
    os.environ[ENV] = world.name
    return world


@contextlib.contextmanager
def using(name: str):
    """Run the block (and the processes it starts) in world `name`; the previous world after it."""
    world = get_world(name)
    before = os.environ.get(ENV)
    os.environ[ENV] = world.name
    try:
        yield world
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def check_asked(name: str, what: str) -> World:
    """The world `name` recorded by `what` (a run, a checkpoint); UserInputError when $CLIPSCALE_WORLD
    asks for another one, since that run's tasks exist only in its own world."""
    world = get_world(name)
    asked = os.environ.get(ENV)
    if asked and asked != world.name:
        raise UserInputError(f"{what} is in world {world.name!r} but {ENV}={asked} asks for world {asked!r}; "
                             f"a run's world is part of its spec (`clipscale train --world`, a study's [train] "
                             f"world) and its checkpoints are evaluated in it: unset {ENV}")
    return world


def data_version(world: str | None = None):
    """The embedded data's version in `world` (default: the active one): the grammar version, plus
    the world's name unless `full` (so the full world's caches and run hashes are those of before
    worlds existed)."""
    w = get_world(world) if world else active_world()
    return vocab.GRAMMAR_VERSION if w.name == DEFAULT else f"{vocab.GRAMMAR_VERSION}+{w.name}"
