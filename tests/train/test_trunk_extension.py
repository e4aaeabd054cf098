"""One branch at a time (an adaptive study): a trunk extended in place equals the grid's trunk, bit for bit."""
from __future__ import annotations

import json

import pytest

from clipscale.errors import UserInputError
from clipscale.train import train
from clipscale.train.branches import branch_dir, level_plan, plan, train_branch, train_trunk_to, trunk_dir

from .helpers import assert_bit_identical, state_dict, tiny_spec

LEVELS = [128, 256, 384]  # 4, 8 and 12 steps of 32


def _spec(**changes):
    return tiny_spec(**({"samples_seen": 384, "epochs": 1, "schedule": "const-cooldown", "cooldown": 0.5,
                         "warmup": 0.1} | changes))


def test_level_plan_is_the_grids_trunk_prefix_and_branch():
    whole = plan(_spec(), LEVELS)
    part = level_plan(_spec(), LEVELS, 256)
    assert part.trunk.epoch_ends == whole.trunk.epoch_ends[:2]
    assert part.trunk.warmup_samples == whole.trunk.warmup_samples  # the whole grid's warmup, not the prefix's
    assert part.branches[-1] == whole.branches[1]
    with pytest.raises(UserInputError, match="not one of the grid's levels"):
        level_plan(_spec(), LEVELS, 200)


def test_extended_trunk_and_its_branches_equal_the_grids(tmp_path):
    out = tmp_path / "adaptive"
    train_trunk_to(_spec(), LEVELS, 128, out)
    train_branch(_spec(), LEVELS, 128, out)
    short = json.loads((trunk_dir(out) / "spec.json").read_text())
    train_trunk_to(_spec(), LEVELS, 384, out)  # extended in place, from its last checkpoint
    train_branch(_spec(), LEVELS, 384, out)
    longer = json.loads((trunk_dir(out) / "spec.json").read_text())
    assert short["epoch_ends"] == [64] and longer["epoch_ends"] == [64, 128, 192]
    train_trunk_to(_spec(), LEVELS, 256, out)  # a shorter need: the trunk is kept as it is
    train_branch(_spec(), LEVELS, 256, out)
    assert json.loads((trunk_dir(out) / "spec.json").read_text()) == longer

    whole = plan(_spec(), LEVELS)
    grid = train(whole.trunk, tmp_path / "grid_trunk", progress=False)
    assert_bit_identical(state_dict(trunk_dir(out) / "checkpoints" / "epoch_3.pt"), state_dict(grid.final_checkpoint))
    for i, level in ((0, 128), (2, 384)):  # a branch of the short trunk, one of the extended trunk
        alone = train(whole.branches[i], tmp_path / f"alone_{level}", progress=False)
        assert_bit_identical(state_dict(branch_dir(out, level) / "checkpoints" / "epoch_1.pt"),
                             state_dict(alone.final_checkpoint))


def test_a_trunk_of_another_grid_is_refused(tmp_path):
    train_trunk_to(_spec(), LEVELS, 128, tmp_path)
    with pytest.raises(UserInputError, match="trunk of another grid"):
        train_trunk_to(_spec(lr=1e-3), LEVELS, 256, tmp_path)
    with pytest.raises(UserInputError, match="train the trunk as far as level 384"):
        train_branch(_spec(), LEVELS, 384, tmp_path)
