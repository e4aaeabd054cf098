"""The scene grammar: masks, fixed attributes, rendering purity, captions per kind."""
from __future__ import annotations

import numpy as np
import pytest

from clipscale.data import (COLOURS, POSITIONS, RELATIONS, SHAPES, TEXTURES, caption, render, sample_obj,
                            sample_relation, sample_scene, sample_text, scene_of)
from clipscale.data.draw import shape_mask
from clipscale.errors import NotFoundError


def test_every_shape_has_a_distinct_mask_of_reasonable_coverage():
    masks = {s: shape_mask(s, 12) for s in SHAPES}
    for s, m in masks.items():
        assert 0.2 < m.mean() < 0.9, s
    flat = np.stack([m.ravel() for m in masks.values()])
    dist = np.abs(flat[:, None] - flat[None]).mean(-1) + np.eye(len(SHAPES))
    assert dist.min() > 0.03


def test_render_is_a_pure_function_of_the_scene():
    scene = sample_scene(np.random.default_rng(0))
    assert np.array_equal(render(scene, 32), render(scene, 32))
    assert render(scene, 64).shape == (64, 64, 3)


def test_fixed_attributes_are_kept_and_drawn_where_asked():
    rng = np.random.default_rng(1)
    obj = sample_obj(rng, shape="star", colour="blue", size="large", texture="solid", position="top left")
    assert (obj.shape, obj.colour, obj.size, obj.texture, obj.position) == ("star", "blue", "large", "solid", "top left")
    img = render(scene_of(rng, "single", (obj,)), 32).astype(float)
    blue = np.array(COLOURS["blue"], dtype=float)
    close = np.linalg.norm(img - blue, axis=-1) < 60
    ys, xs = np.nonzero(close)
    assert len(xs) > 20 and xs.mean() < 16 and ys.mean() < 16


def test_relation_scenes_place_objects_as_stated():
    rng = np.random.default_rng(2)
    for rel in RELATIONS:
        for _ in range(20):
            a, b = sample_relation(rng, rel).objects
            assert {"left of": a.x < b.x, "right of": a.x > b.x, "above": a.y < b.y, "below": a.y > b.y}[rel]
            assert (a.shape, a.colour) != (b.shape, b.colour)


def test_count_scenes_hold_identical_objects_in_distinct_cells():
    rng = np.random.default_rng(3)
    scenes = [sample_scene(rng, "count") for _ in range(100)]
    assert {len(s.objects) for s in scenes} == {2, 3, 4, 5}
    for s in scenes:
        assert len({o.position for o in s.objects}) == len(s.objects)
        assert len({(o.shape, o.colour, o.texture) for o in s.objects}) == 1


def test_captions_name_the_content():
    rng = np.random.default_rng(4)
    text = sample_text(rng, text="42", colour="red")
    assert "42" in caption(text, rng)
    single = scene_of(rng, "single", (sample_obj(rng, shape="hexagon"),))
    assert all("hexagon" in caption(single, rng) for _ in range(10))


def test_unknown_attribute_names_raise_with_choices():
    with pytest.raises(NotFoundError, match="circle"):
        sample_obj(np.random.default_rng(0), shape="blob")
    with pytest.raises(NotFoundError, match="single"):
        sample_scene(np.random.default_rng(0), kind="nope")


def test_vocabularies_are_rich():
    assert len(SHAPES) >= 16 and len(COLOURS) >= 12 and len(POSITIONS) == 9 and len(TEXTURES) == 4


def test_count_of_one_serves_counting_tasks_and_bad_counts_raise():
    from clipscale.data import sample_count
    from clipscale.errors import UserInputError

    assert len(sample_count(np.random.default_rng(5), count=1).objects) == 1
    assert len(sample_count(np.random.default_rng(5), count=5).objects) == 5
    with pytest.raises(UserInputError, match="count"):
        sample_count(np.random.default_rng(5), count=6)
