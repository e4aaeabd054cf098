"""The study specs docs/compare.md runs (docs/specs/): they load, and the two recipes of its embedded
comparison differ in the batch size alone, so that `compare` of their folders compares batch sizes."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from clipscale.study import load_spec

SPECS = Path(__file__).resolve().parents[2] / "docs" / "specs"


def test_the_batch_pair_differs_only_in_batch_size():
    a, b = load_spec(SPECS / "bx-32.toml"), load_spec(SPECS / "bx-64.toml")
    assert (a.axes.batch_size, b.axes.batch_size) == ((32,), (64,))
    assert dataclasses.replace(a.axes, batch_size=b.axes.batch_size) == b.axes
    assert (a.train, a.eval, a.fit) == (b.train, b.eval, b.fit)
    runs_a, runs_b = a.runs(), b.runs()
    assert len(runs_a) == len(runs_b) == 9  # 3 models x 3 seeds
    key = lambda r: (r.model, r.samples_seen, r.levels, r.train.seed)
    assert len(set(map(key, runs_a))) == 9 and sorted(map(key, runs_a)) == sorted(map(key, runs_b))
    assert {r.batch_size for r in runs_a} == {32} and {r.batch_size for r in runs_b} == {64}
