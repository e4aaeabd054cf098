"""Captions of scenes: varied templates, synonyms and dropped attributes, like alt-text.

A caption names the shape always; colour, size, texture and position only sometimes, through
one of several synonyms and templates. All captions fit the ladder's 24-token text context
(tested with OpenCLIP's BPE tokenizer).
"""
from __future__ import annotations

import numpy as np

from clipscale.data.grammar import Obj, Scene
from clipscale.data.vocab import (COLOUR_SYNONYMS, NUMBER_WORDS, POSITION_PHRASES, PREFIXES,
                                  RELATION_PHRASES, SHAPE_PLURALS, SHAPE_SYNONYMS, SIZE_SYNONYMS,
                                  TEXTURE_SYNONYMS)

# How often a caption mentions each attribute (fractions).
P_COLOUR, P_SIZE, P_TEXTURE, P_SOLID, P_POSITION = 0.9, 0.5, 0.75, 0.1, 0.5
_INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def _one(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    """The first (canonical) option half of the time, else any option: synonyms without drowning the name."""
    k = int(rng.integers(2 * len(options)))
    return options[0] if k < len(options) else options[k - len(options)]


def _article(phrase: str) -> str:
    return ("an " if phrase[:1] in "aeiou" else "a ") + phrase


def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


def _adjectives(o: Obj, rng: np.random.Generator) -> str:
    size = _one(rng, SIZE_SYNONYMS[o.size]) if rng.random() < P_SIZE else ""
    p_tex = P_SOLID if o.texture == "solid" else P_TEXTURE
    texture = _one(rng, TEXTURE_SYNONYMS[o.texture]) if rng.random() < p_tex else ""
    colour = _one(rng, COLOUR_SYNONYMS[o.colour]) if rng.random() < P_COLOUR else ""
    return _join(size, texture, colour)


def noun_phrase(o: Obj, rng: np.random.Generator) -> str:
    """'a small striped red star' with a random subset of adjectives and a synonym of the shape."""
    return _article(_join(_adjectives(o, rng), _one(rng, SHAPE_SYNONYMS[o.shape])))


def _plural(shape_word: str) -> str:
    return SHAPE_PLURALS.get(shape_word, shape_word + "s")


def _with_prefix(body: str, rng: np.random.Generator) -> str:
    return _join(_one(rng, PREFIXES), body)


def _single(scene: Scene, rng: np.random.Generator) -> str:
    o = scene.objects[0]
    where = _one(rng, POSITION_PHRASES[o.position]) if rng.random() < P_POSITION else ""
    return _with_prefix(_join(noun_phrase(o, rng), where), rng)


def _count(scene: Scene, rng: np.random.Generator) -> str:
    o, n = scene.objects[0], len(scene.objects)
    number = NUMBER_WORDS[n] if rng.random() < 0.7 else str(n)
    adjectives, noun = _adjectives(o, rng), _plural(_one(rng, SHAPE_SYNONYMS[o.shape]))
    style = int(rng.integers(3))
    if style == 0:
        return _with_prefix(_join(number, adjectives, noun), rng)
    if style == 1:
        return _join("a group of", number, adjectives, noun)
    colour = _one(rng, COLOUR_SYNONYMS[o.colour])
    return _join(number, noun, "all of them", colour)


def _relation(scene: Scene, rng: np.random.Generator) -> str:
    a, b = scene.objects
    style = rng.random()
    if style < 0.15:  # no relation stated, as alt-text often does
        return _with_prefix(_join(noun_phrase(a, rng), "and", noun_phrase(b, rng)), rng)
    if style < 0.55:
        return _join(noun_phrase(b, rng), _one(rng, RELATION_PHRASES[_INVERSE[scene.relation]]),
                     noun_phrase(a, rng))
    return _join(noun_phrase(a, rng), _one(rng, RELATION_PHRASES[scene.relation]), noun_phrase(b, rng))


def _text(scene: Scene, rng: np.random.Generator) -> str:
    t = scene.text
    colour = _one(rng, COLOUR_SYNONYMS[t.colour])
    kind = "number" if t.text.isdigit() else "word"
    style = int(rng.integers(4))
    if style == 0:
        return _join("the", kind, t.text, "written in", colour)
    if style == 1:
        return _join("a sign that says", t.text)
    if style == 2:
        return _join(t.text, "in", colour, "letters" if kind == "word" else "digits")
    return _with_prefix(_join("the", kind, t.text), rng)


def caption(scene: Scene, rng: np.random.Generator) -> str:
    """A caption of `scene`, drawn with `rng` from the templates of its kind."""
    return {"single": _single, "count": _count, "relation": _relation, "text": _text}[scene.kind](scene, rng)
