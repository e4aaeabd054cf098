"""TrainSpec validation, serialisation and the step/learning-rate arithmetic."""
from __future__ import annotations

import math

import pytest

from clipscale.errors import UserInputError
from clipscale.train import TrainSpec
from clipscale.train.native import schedule


def test_round_trip_and_unknown_keys():
    spec = TrainSpec("ladder-s", data_size=1000, samples_seen=5000, precision="bf16", epochs=3)
    assert TrainSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(UserInputError, match="unknown train spec keys"):
        TrainSpec.from_dict(spec.to_dict() | {"learning_rate": 1.0})
    with pytest.raises(UserInputError, match="missing"):
        TrainSpec.from_dict({"model": "ladder-s"})


@pytest.mark.parametrize("changes, message", [
    (dict(batch_size=2000), "larger than the data"),
    (dict(precision="fp16"), "valid choices: bf16, fp32"),
    (dict(engine="jax"), "valid choices: native, open_clip"),
    (dict(warmup=1.5), r"\[0, 1\)"),
    (dict(samples_seen=100), "fewer than one step"),
    (dict(data_size=0), "positive integer"),
    (dict(lr=float("nan")), "lr must be"),
    (dict(lr="2e-3"), "lr must be a number"),
    (dict(batch_size=12.5), "positive integer"),
])
def test_bad_specs_name_the_fix(changes, message):
    with pytest.raises(UserInputError, match=message):
        TrainSpec(**(dict(model="ladder-xs", data_size=1000, samples_seen=5000) | changes))


def test_steps_and_epochs():
    spec = TrainSpec("ladder-xs", data_size=1000, samples_seen=1000, batch_size=100, epochs=3, warmup=0.2)
    assert (spec.total_steps, spec.warmup_steps) == (10, 2)
    assert [spec.epoch_end_step(e) for e in (1, 2, 3)] == [3, 6, 10]
    assert [spec.epoch_of_step(s) for s in range(10)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 3]


def test_schedule_is_openclip_warmup_then_cosine():
    spec = TrainSpec("ladder-xs", data_size=1000, samples_seen=100_000, batch_size=100, warmup=0.1, lr=1e-3)
    lr = schedule(spec)  # 1000 steps, 100 of warmup
    assert lr(0) == pytest.approx(1e-5)  # OpenCLIP: base * (step + 1) / warmup
    assert lr(99) == pytest.approx(1e-3)
    assert lr(100) == pytest.approx(1e-3)
    assert lr(550) == pytest.approx(0.5e-3)
    assert lr(999) == pytest.approx(0.5 * (1 + math.cos(math.pi * 899 / 900)) * 1e-3)
    assert schedule(spec.replace(warmup=0.0))(0) == pytest.approx(1e-3)
