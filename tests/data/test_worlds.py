"""Difficulty presets (worlds) of the embedded grammar."""
import numpy as np
import pytest

from clipscale.data import grammar, worlds
from clipscale.errors import NotFoundError


def test_easy_world_draws_only_its_vocabulary_and_versions_apart(monkeypatch):
    monkeypatch.setenv(worlds.ENV, "easy-v1")
    w = worlds.active_world()
    rng = np.random.default_rng(0)
    scenes = [grammar.sample_scene(rng) for _ in range(200)]
    assert {s.kind for s in scenes} == {"single"}
    assert {o.shape for s in scenes for o in s.objects} <= set(w.shapes)
    assert {o.colour for s in scenes for o in s.objects} <= set(w.colours)
    assert {o.size for s in scenes for o in s.objects} == {"large"}
    assert worlds.data_version() != 3
    from clipscale.evaluate.embedded import embedded_tasks
    assert len(embedded_tasks()["objects"].classnames) == 48
    monkeypatch.setenv(worlds.ENV, "full")
    assert worlds.data_version() == 3
    assert len(embedded_tasks()["objects"].classnames) == 192


def test_unknown_world_is_one_line_error():
    with pytest.raises(NotFoundError, match="easy-v1"):
        worlds.get_world("easy")
