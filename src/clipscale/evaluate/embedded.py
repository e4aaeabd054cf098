"""The embedded task suite: zero-shot tasks on held-out procedural scenes of `clipscale.data`.

Prompts follow the captions' wording (articles, prefixes such as 'a photo of', canonical names).
Scenes are drawn from evaluation streams `default_rng([EVAL_SEED, family, split, i])`, independent
of the training stream (`[seed, 0, i]`) and of the data module's held-out stream (`[seed, 1, i]`).
Classes cycle with i, so every class has the same number of images. Images are rendered at 32 px,
the dataset's native resolution (larger models upsample through their own preprocess).

Families (tasks of one family share images, hence one feature pass per checkpoint):
- single: one object of a chosen colour and shape -> tasks objects (colour x shape, 192 classes,
  ImageNet's role) and shape, each with one classifier for all images; colour, size and texture,
  whose prompts keep the image's own shape and vary the attribute ('a striped star', 'a dotted star').
- count: 1-5 identical objects -> count ('two red stars' ... with the image's own colour and shape).
- relation: two objects, A left of / right of / above / below B -> relation (the prompts name the
  image's own two objects, so each image gets its own four-way classifier), and multilabel (which of
  the 16 shapes appear: mean average precision).
- text: a rendered three-letter word -> words.
- retrieval: the data module's held-out stream (all scene kinds), five captions per image.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from clipscale.evaluate.features import ImageSource

EVAL_SEED = 5_2023  # evaluation streams; never used by training
IMAGE_SIZE = 32
CAPTIONS_PER_IMAGE = 5  # as COCO and Flickr30k in the paper's retrieval benchmarks
_FAMILIES = ("single", "count", "relation", "text", "retrieval")
_SPLITS = {"test": 0, "train": 1}  # train: images for linear probes only
# Test images per class of embedded/objects (the "single" family's size), as ImageNet's validation
# set: at 1% error 10 images per class (960 for 96 classes) held ~10 errors, a log-odds standard
# error of 0.14 decades, as large as the demo law's scatter; 50 per class halves it.
TEST_IMAGES_PER_CLASS = 50


@dataclass(frozen=True)
class EmbeddedTask:
    """How one embedded task labels a scene and prompts a model."""

    family: str
    classnames: tuple[str, ...]
    templates: Any  # list of '{c}' templates, or dict class -> prompts
    label: Callable  # scene -> class index
    n_test: int  # images per split (a multiple of the class count keeps classes balanced)
    per_image_prompts: Callable | None = None  # scene -> list (per class) of prompt lists
    multilabel: bool = False  # label is a 0/1 row over classes; metric: mean average precision


def _data():
    import clipscale.data as data  # imported when first needed: the data stage is heavier than this module

    return data


def _a(phrase: str) -> str:
    """'a red star', 'an orange star': the article the captions use."""
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def _prompts(phrase: str) -> list[str]:
    """Prompts in the captions' own styles (prefixes of clipscale.data.vocab.PREFIXES)."""
    return [f"a photo of {_a(phrase)}.", f"an image of {_a(phrase)}.", f"{_a(phrase)}."]


def _by_class(phrases) -> dict[str, list[str]]:
    return {p: _prompts(p) for p in phrases}


def _attribute_prompts(values: tuple[str, ...]) -> Callable:
    """Per image: the object's own shape with each value of one attribute ('a striped star', ...)."""
    return lambda scene: [_prompts(f"{v} {scene.objects[0].shape}") for v in values]


def _count_prompts(scene) -> list[list[str]]:
    """Per image: 'one red star' ... 'five red stars' (the objects' own colour and shape)."""
    from clipscale.data.vocab import NUMBER_WORDS, SHAPE_PLURALS

    o = scene.objects[0]
    plural = SHAPE_PLURALS.get(o.shape, o.shape + "s")
    return [[f"a photo of {w} {o.colour} {o.shape if n == 1 else plural}.", f"{w} {o.colour} {o.shape if n == 1 else plural}."]
            for n, w in sorted(NUMBER_WORDS.items())]


def _relation_prompts(relations: tuple[str, ...]) -> Callable:
    """Per image: 'a red star left of a blue ring', for each relation (the image's own objects)."""
    def prompts(scene):
        a, b = (f"{o.colour} {o.shape}" for o in scene.objects)
        return [[f"a photo of {_a(a)} {r} {_a(b)}.", f"{_a(a)} {r} {_a(b)}."] for r in relations]
    return prompts


def embedded_tasks() -> dict[str, EmbeddedTask]:
    """Every embedded task by its short name (the part after 'embedded/'), in the active world
    (clipscale.data.worlds: e.g. embedded/objects has 192 classes in `full`, 48 in `easy-v1`)."""
    from clipscale.data.worlds import active_world

    return _tasks_of(active_world().name)


@lru_cache(maxsize=None)
def _tasks_of(world_name: str) -> dict[str, EmbeddedTask]:
    d = _data()
    from clipscale.data.vocab import NUMBER_WORDS
    from clipscale.data.worlds import get_world

    w = get_world(world_name)
    colours, shapes, sizes, textures = w.colours, w.shapes, w.sizes, w.textures
    relations, words, numbers = tuple(d.RELATIONS), tuple(d.WORDS), tuple(NUMBER_WORDS.values())

    def first(scene):  # the object of a single-object scene
        return scene.objects[0]

    objects = tuple(f"{c} {s}" for c in colours for s in shapes)
    return {
        "objects": EmbeddedTask("single", objects, _by_class(objects),
                                lambda s: colours.index(first(s).colour) * len(shapes) + shapes.index(first(s).shape),
                                TEST_IMAGES_PER_CLASS * len(objects)),
        "shape": EmbeddedTask("single", shapes, _by_class(shapes), lambda s: shapes.index(first(s).shape), 0),
        "colour": EmbeddedTask("single", colours, None, lambda s: colours.index(first(s).colour), 0,
                               per_image_prompts=_attribute_prompts(colours)),
        "size": EmbeddedTask("single", sizes, None, lambda s: sizes.index(first(s).size), 0,
                             per_image_prompts=_attribute_prompts(sizes)),
        "texture": EmbeddedTask("single", textures, None, lambda s: textures.index(first(s).texture), 0,
                                per_image_prompts=_attribute_prompts(textures)),
        "count": EmbeddedTask("count", numbers, None, lambda s: len(s.objects) - 1, 100 * len(numbers),
                              per_image_prompts=_count_prompts),
        "relation": EmbeddedTask("relation", relations, None, lambda s: relations.index(s.relation),
                                 100 * len(relations), per_image_prompts=_relation_prompts(relations)),
        "multilabel": EmbeddedTask("relation", shapes, _by_class(shapes), lambda s: _shapes_present(s, shapes), 0,
                                   multilabel=True),
        "words": EmbeddedTask("text", words, ["the word {c}.", "a sign that says {c}.", "a photo of the word {c}."],
                              lambda s: words.index(s.text.text), 20 * len(words)),
        "retrieval": EmbeddedTask("retrieval", (), None, lambda s: 0, 1000),
    }


def _shapes_present(scene, shapes: tuple[str, ...]) -> np.ndarray:
    row = np.zeros(len(shapes), dtype=np.float32)
    for o in scene.objects:
        row[shapes.index(o.shape)] = 1.0
    return row


def family_size(family: str) -> int:
    """Images per split of a family: the largest n_test of its tasks."""
    return max(t.n_test for t in embedded_tasks().values() if t.family == family)


def _scene(family: str, split: str, i: int):
    d = _data()
    rng = np.random.default_rng([EVAL_SEED, _FAMILIES.index(family), _SPLITS[split], i])
    if family == "single":
        from clipscale.data.worlds import active_world

        colours, shapes = active_world().colours, active_world().shapes
        cls = i % (len(colours) * len(shapes))
        obj = d.sample_obj(rng, shape=shapes[cls % len(shapes)], colour=colours[cls // len(shapes)])
        return d.scene_of(rng, "single", (obj,)), rng
    if family == "count":
        return d.sample_count(rng, count=1 + i % 5), rng
    if family == "relation":
        return d.sample_relation(rng, relation=tuple(d.RELATIONS)[i % len(d.RELATIONS)]), rng
    if family == "text":
        return d.sample_text(rng, text=tuple(d.WORDS)[i % len(d.WORDS)], image_size=IMAGE_SIZE), rng
    return d.sample_scene(rng), rng  # retrieval: every kind, as the training mixture


def source(family: str, split: str = "test", n: int | None = None) -> ImageSource:
    """The images of a family: item i -> (uint8 32x32x3 image, target).

    The target is the scene, or for retrieval the list of its captions.
    """
    n = family_size(family) if n is None else int(n)
    from clipscale.data.worlds import data_version

    version = data_version()
    rendered = _rendered(family, split, version)

    def load(i: int):
        if i not in rendered:
            rendered[i] = _render_item(family, split, i)
        return rendered[i]

    key = f"embedded/{family}/{split}/n={n}/v{version}"
    return ImageSource(key, n, load, lambda i: f"{key}[{i}]")


@lru_cache(maxsize=None)
def _rendered(family: str, split: str, version) -> dict:
    """Item i -> (image, target), filled as items are first loaded: a process renders each scene once
    (a study evaluates many checkpoints; item i does not depend on n, so every n shares the store)."""
    return {}


def _render_item(family: str, split: str, i: int):
    d = _data()
    scene, _ = _scene(family, split, i)
    image = d.render(scene, IMAGE_SIZE)
    image.setflags(write=False)  # shared between evaluations: nobody may change it
    if family == "retrieval":
        return image, [d.caption(scene, np.random.default_rng([EVAL_SEED, 99, _SPLITS[split], i, j]))
                       for j in range(CAPTIONS_PER_IMAGE)]
    return image, scene
