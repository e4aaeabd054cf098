"""Unit tests of clipscale.evaluate.finetune: WiSE-FT end points, the schedule, recipe checks."""
from __future__ import annotations

import pytest
import torch

from clipscale.errors import UserInputError
from clipscale.evaluate import finetune as ft


def test_wise_alpha_end_points_are_the_two_models():
    torch.manual_seed(0)
    zero = {"w": torch.randn(3, 4), "n": torch.tensor(7)}
    tuned = {"w": torch.randn(3, 4), "n": torch.tensor(7)}
    assert torch.equal(ft.wise(zero, tuned, 0.0)["w"], zero["w"])
    assert torch.equal(ft.wise(zero, tuned, 1.0)["w"], tuned["w"])
    assert torch.allclose(ft.wise(zero, tuned, 0.5)["w"], (zero["w"] + tuned["w"]) / 2)


def test_warmup_then_cosine_to_zero():
    r = ft.Recipe(lr=1.0, warmup=0.2)
    lrs = [ft.lr_at(s, 10, r) for s in range(10)]
    assert lrs[0] == pytest.approx(0.5) and lrs[1] == pytest.approx(1.0) and lrs[2] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:])) and lrs[-1] < 0.05


def test_bad_recipe_is_one_user_error():
    with pytest.raises(UserInputError, match="wise-alpha"):
        ft.Recipe(wise_alpha=1.5).check()
