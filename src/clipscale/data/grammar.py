"""The scene grammar: frozen `Scene`/`Obj`/`Text` records, how to sample them, and how to render them.

A scene is fully described by its record (every jitter and the noise pattern included), so
`render(scene, image_size)` is a pure function and evaluation tasks can build held-out scenes with
chosen attributes through `sample_obj(rng, shape=..., colour=...)` and `scene_of(rng, ...)`.
Scene kinds: 'single' (one object at a named position), 'count' (2-5 identical objects, 1 on request),
'relation' (two objects, A left of/right of/above/below B) and 'text' (a rendered word or number).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipscale.data import draw as _r
from clipscale.data.vocab import (COLOUR_JITTER, COLOURS, COUNTS, KIND_WEIGHTS, NUMBERS, POSITIONS,
                                  RELATIONS, SHAPES, SIZE_JITTER, SIZES, TEXTURES, WORDS)
from clipscale.data.worlds import active_world
from clipscale.errors import UserInputError, unknown

_COLOUR_NAMES = tuple(COLOURS)
_SIZE_NAMES = tuple(SIZES)
_POSITION_NAMES = tuple(POSITIONS)
_KINDS = tuple(KIND_WEIGHTS)
_KIND_CDF = np.cumsum(list(KIND_WEIGHTS.values()))
_TEXTURE_CDF = np.cumsum([0.55, 0.15, 0.15, 0.15])  # solid a little more common than all textures together
_MIN_CONTRAST = 90.0  # min RGB distance (0-255 units) between background and every ink colour
_TINT = 30  # max abs. tint of the grey background per channel (0-255 units)
_MAX_NOISE_STD = 8.0  # pixel noise std, 0-255 units, drawn uniformly per scene
_CELL_JITTER = 0.07  # max shift of a large object around its cell centre (fraction of the image side)


@dataclass(frozen=True)
class Obj:
    """One shape. x, y: centre as fractions of the image side; scale: diameter as a fraction."""

    shape: str
    colour: str
    size: str
    texture: str
    position: str
    x: float
    y: float
    scale: float
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Text:
    """A rendered word or number (lower case letters and digits) centred at (x, y), fractions."""

    text: str
    colour: str
    x: float
    y: float
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    """A whole image: kind, objects, optional text, background RGB and noise (bank index, std 0-255).

    For kind 'relation', `relation` reads 'objects[0] <relation> objects[1]'.
    """

    kind: str
    objects: tuple[Obj, ...]
    background: tuple[int, int, int]
    noise_index: int
    noise_std: float
    relation: str | None = None
    text: Text | None = None


def _pick(rng: np.random.Generator, names: tuple, given=None, kind: str = "", valid: tuple = ()):
    """A random name of `names` (the active world's), or `given`, checked against `valid` (the whole
    grammar's: a chosen value outside the world, e.g. a small object in a large-only world, is allowed)."""
    if given is None:
        return names[int(rng.integers(len(names)))]
    if given not in (valid or names):
        raise unknown(kind, given, names, fix="use a name from clipscale.data.vocab")
    return given


def _rgb(rng: np.random.Generator, colour: str) -> tuple[int, int, int]:
    jitter = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3).tolist()
    return tuple(min(255, max(0, c + j)) for c, j in zip(COLOURS[colour], jitter))


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, float(v)))


def sample_obj(rng: np.random.Generator, shape: str | None = None, colour: str | None = None,
               size: str | None = None, texture: str | None = None, position: str | None = None) -> Obj:
    """An object with the given attributes, the others drawn at random, jittered inside its cell."""
    w = active_world()
    shape = _pick(rng, w.shapes, shape, "shape", SHAPES)
    colour = _pick(rng, w.colours, colour, "colour", _COLOUR_NAMES)
    size = _pick(rng, w.sizes, size, "size", _SIZE_NAMES)
    if texture is None:
        cdf = np.cumsum(w.texture_weights) if w.name != "full" else _TEXTURE_CDF
        texture = w.textures[int(np.searchsorted(cdf, rng.random(), side="right"))]
    texture = _pick(rng, w.textures, texture, "texture", TEXTURES)
    position = _pick(rng, _POSITION_NAMES, position, "position")
    u = (2 * rng.random(3) - 1).tolist()
    scale = SIZES[size] * (1 + SIZE_JITTER * u[0])
    col, row = POSITIONS[position]
    half = scale / 2
    # Small objects stay inside their cell, so objects of count and relation scenes never touch.
    jitter = _CELL_JITTER if size == "large" else max(0.0, 1 / 6 - half)
    x = _clamp((col + 0.5) / 3 + jitter * u[1], half, 1 - half)
    y = _clamp((row + 0.5) / 3 + jitter * u[2], half, 1 - half)
    return Obj(shape, colour, size, texture, position, x, y, scale, _rgb(rng, colour))


def _background(rng: np.random.Generator, inks: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """A muted colour (grey level plus a tint of +-_TINT) at least _MIN_CONTRAST from every ink.

    Muted backgrounds keep the objects the most salient thing in the image, as in a photo
    whose caption describes its subject. 64 tries, then the last one.
    """
    for _ in range(64):
        grey, *tint = rng.integers(0, 256, size=4).tolist()
        bg = tuple(min(255, max(0, grey + (t * 2 * _TINT) // 255 - _TINT)) for t in tint)
        if all(sum((a - b) ** 2 for a, b in zip(ink, bg)) >= _MIN_CONTRAST ** 2 for ink in inks):
            break
    return bg


def scene_of(rng: np.random.Generator, kind: str, objects: tuple[Obj, ...] = (),
             relation: str | None = None, text: Text | None = None) -> Scene:
    """Complete a scene around chosen content: background far from every ink colour, and noise."""
    inks = [o.rgb for o in objects] + ([text.rgb] if text else [])
    bg = _background(rng, inks)
    return Scene(kind, tuple(objects), bg, int(rng.integers(_r.NOISE_BANK)), float(rng.uniform(0, _MAX_NOISE_STD)),
                 relation, text)


def _cells(rng: np.random.Generator, k: int) -> list[str]:
    return [_POSITION_NAMES[i] for i in rng.permutation(len(_POSITION_NAMES))[:k]]


def sample_count(rng: np.random.Generator, count: int | None = None, **fixed) -> Scene:
    """Identical small objects (same shape, colour, texture) in distinct cells.

    count: 1-5 (training draws 2-5; a count of 1 serves counting tasks).
    """
    n = int(count) if count is not None else int(rng.integers(2, COUNTS[-1] + 1))
    if n not in COUNTS:
        raise UserInputError(f"count must be one of {list(COUNTS)}, got {count}; 3x3 cells hold at most 5 small objects")
    first = sample_obj(rng, size="small", **fixed)
    objs = [first] + [sample_obj(rng, first.shape, first.colour, "small", first.texture, p)
                      for p in _cells(rng, 9)[:n] if p != first.position][:n - 1]
    return scene_of(rng, "count", tuple(objs))


def sample_relation(rng: np.random.Generator, relation: str | None = None) -> Scene:
    """Two different objects in one row (left/right of) or one column (above/below)."""
    relation = _pick(rng, RELATIONS, relation, "relation")
    a_, b_ = sorted(rng.choice(3, size=2, replace=False))
    line = int(rng.integers(3))
    first, second = ((a_, line), (b_, line)) if relation in ("left of", "right of") else ((line, a_), (line, b_))
    if relation in ("right of", "below"):
        first, second = second, first
    name = {v: k for k, v in POSITIONS.items()}
    a = sample_obj(rng, size="small", position=name[first])
    b = sample_obj(rng, size="small", position=name[second])
    while (b.shape, b.colour) == (a.shape, a.colour):
        b = sample_obj(rng, size="small", position=name[second])
    return scene_of(rng, "relation", (a, b), relation=relation)


def sample_text(rng: np.random.Generator, text: str | None = None, colour: str | None = None,
                image_size: int = 32) -> Scene:
    """A rendered word (three letters) or number (0-99) in a named colour."""
    if text is None:
        text = WORDS[int(rng.integers(len(WORDS)))] if rng.random() < 0.5 else NUMBERS[int(rng.integers(100))]
    colour = _pick(rng, active_world().colours, colour, "colour", _COLOUR_NAMES)
    w = _r.text_mask(text, image_size).shape[1] / image_size / 2
    x, y = float(rng.uniform(w, 1 - w)), float(rng.uniform(0.3, 0.7))
    return scene_of(rng, "text", text=Text(text, colour, x, y, _rgb(rng, colour)))


def sample_scene(rng: np.random.Generator, kind: str | None = None) -> Scene:
    """A random scene; kind drawn from KIND_WEIGHTS unless given."""
    if kind is None:
        w = active_world()
        if w.name == "full":
            kind = _KINDS[int(np.searchsorted(_KIND_CDF, rng.random() * _KIND_CDF[-1], side="right"))]
        else:
            cdf = np.cumsum(list(w.kind_weights.values()))
            kind = tuple(w.kind_weights)[int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))]
    if kind == "single":
        return scene_of(rng, "single", (sample_obj(rng),))
    if kind == "count":
        return sample_count(rng)
    if kind == "relation":
        return sample_relation(rng)
    if kind == "text":
        return sample_text(rng)
    raise unknown("scene kind", kind, _KINDS, fix="pass one of the kinds or None for the mixture")


def render(scene: Scene, image_size: int = 32) -> np.ndarray:
    """The scene as a uint8 RGB array [image_size, image_size, 3]; a pure function of the scene."""
    img = np.empty((image_size, image_size, 3), dtype=np.float32)
    img[:] = scene.background
    for o in scene.objects:
        d = max(3, int(round(o.scale * image_size)))
        rgb = np.asarray(o.rgb, dtype=np.float32)
        if o.texture != "solid":
            shade = _r.shade_of(rgb)
            rgb = shade + _r.texture_pattern(o.texture, d, image_size) * (rgb - shade)
        _r.blend(img, _r.shape_mask(o.shape, d), rgb, o.x * image_size, o.y * image_size)
    if scene.text is not None:
        t = scene.text
        _r.blend(img, _r.text_mask(t.text, image_size), np.asarray(t.rgb, dtype=np.float32),
                 t.x * image_size, t.y * image_size)
    if scene.noise_std > 0:
        img += scene.noise_std * _r.noise_bank(image_size)[scene.noise_index]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)
