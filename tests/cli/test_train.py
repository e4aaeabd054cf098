"""`clipscale train`: its defaults and choices are TrainSpec's, read from train/spec.py, never re-typed."""
from __future__ import annotations

import argparse
import dataclasses

import pytest

from clipscale.cli.train import register, spec_of
from clipscale.data.worlds import WORLDS
from clipscale.train import TrainSpec
from clipscale.train.spec import COOLDOWN_SHAPES, ENGINES, PRECISIONS, RUN_SCHEDULES

REQUIRED = ["--arch", "ladder-xs", "--data-size", "256", "--out", "run"]
FIELDS = {f.name: f for f in dataclasses.fields(TrainSpec)}


def _parser() -> argparse.ArgumentParser:
    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    return sub.choices["train"]


def test_every_option_defaults_to_the_dataclass_default():
    args = vars(_parser().parse_args(REQUIRED))
    by_cli = set(args) & set(FIELDS)
    # Set by the study runner and the cool-down branches, not by a person at the command line.
    assert set(FIELDS) - by_cli == {"warmup_samples", "epoch_ends"}
    with_default = {n for n in by_cli if FIELDS[n].default is not dataclasses.MISSING}
    assert len(with_default) == 15
    for name in with_default:
        assert args[name] == FIELDS[name].default, f"--{name.replace('_', '-')} default differs from TrainSpec's"


def test_choices_are_the_spec_constants():
    choices = {a.dest: tuple(a.choices) for a in _parser()._actions if a.choices is not None}
    assert choices == {"precision": PRECISIONS, "engine": ENGINES, "schedule": RUN_SCHEDULES,
                       "cooldown_shape": COOLDOWN_SHAPES, "world": tuple(WORLDS)}


def test_the_command_line_without_options_is_the_default_spec():
    args = _parser().parse_args(REQUIRED + ["--samples-seen", "512"])
    assert spec_of(args) == TrainSpec(model="ladder-xs", data_size=256, samples_seen=512)


@pytest.mark.parametrize("argv, field, value", [
    (["--threads", "3"], "num_threads", 3),
    (["--weight-decay", "0.05"], "weight_decay", 0.05),
    (["--schedule", "const-cooldown", "--cooldown-shape", "linear"], "cooldown_shape", "linear"),
    (["--levels", "256,512"], "samples_seen", 512),
])
def test_each_option_sets_its_field(argv, field, value):
    args = _parser().parse_args(REQUIRED + ["--samples-seen", "512"] * ("--levels" not in argv) + argv)
    assert getattr(spec_of(args), field) == value
