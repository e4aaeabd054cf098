"""The const-cooldown schedule: its lr shape, its spec checks, and its open_clip_train translation."""
from __future__ import annotations

import math

import pytest

from clipscale.errors import UserInputError
from clipscale.train import TrainSpec
from clipscale.train import openclip_engine as oce
from clipscale.train.native import schedule

from .helpers import tiny_spec


def _lrs(spec):
    lr = schedule(spec)
    return [lr(k) for k in range(spec.total_steps)]


def test_cosine_is_the_default_and_its_dict_is_unchanged():
    spec = tiny_spec()
    assert spec.schedule == "cosine"
    # The study hash and old spec.json files depend on this dict: no new keys for a cosine run.
    assert set(spec.to_dict()) == {"model", "data_size", "samples_seen", "batch_size", "lr", "warmup", "weight_decay",
                                   "precision", "seed", "epochs", "train_data", "num_threads", "engine"}
    from open_clip_train.scheduler import cosine_lr

    class Sink:
        param_groups = [{}]

    ref = cosine_lr(Sink, spec.lr, max(spec.warmup_steps, 1), spec.total_steps)
    assert _lrs(spec) == [ref(k) for k in range(spec.total_steps)]


@pytest.mark.parametrize("shape", ["linear", "1-sqrt"])
def test_const_cooldown_shape(shape):
    spec = tiny_spec(samples_seen=3200, batch_size=32, warmup=0.1, schedule="const-cooldown", cooldown_shape=shape,
                     final_lr=1e-4)  # 100 steps: 10 warmup, 70 constant, 20 cool-down
    lrs = _lrs(spec)
    assert (spec.warmup_steps, spec.cooldown_start_step, spec.cooldown_steps) == (10, 80, 20)
    assert lrs[0] == pytest.approx(spec.lr / 10) and lrs[9] == spec.lr
    assert set(lrs[10:81]) == {spec.lr}
    g = (lambda p: 1 - p) if shape == "linear" else (lambda p: 1 - math.sqrt(p))
    for k in range(80, 100):
        assert lrs[k] == pytest.approx(1e-4 + (spec.lr - 1e-4) * g((k - 80) / 20))
    assert all(b < a for a, b in zip(lrs[80:], lrs[81:]))  # strictly decaying toward final_lr
    assert lrs[-1] > 1e-4


def test_const_cooldown_matches_open_clip_linear():
    from open_clip_train.scheduler import const_lr_cooldown

    class Sink:
        param_groups = [{}]

    spec = tiny_spec(samples_seen=3200, batch_size=32, schedule="const-cooldown", cooldown_shape="linear")
    ref = const_lr_cooldown(Sink, spec.lr, spec.warmup_steps, spec.total_steps, spec.cooldown_steps, 1.0, 0.0)
    assert _lrs(spec) == pytest.approx([ref(k) for k in range(spec.total_steps)])


def test_const_cooldown_roundtrips():
    spec = tiny_spec(schedule="const-cooldown", cooldown=0.25, final_lr=1e-5, warmup_samples=32)
    assert TrainSpec.from_dict(spec.to_dict()) == spec
    trunk = tiny_spec(schedule="const", epoch_ends=[64, 256])
    assert TrainSpec.from_dict(trunk.to_dict()) == trunk and trunk.epoch_end_step(1) == 2


@pytest.mark.parametrize("changes, message", [
    ({"cooldown": 0.0}, "cool-down is a fraction of the steps in (0, 1)"),
    ({"cooldown": 1.0}, "cool-down is a fraction of the steps in (0, 1)"),
    ({"cooldown_shape": "cosine"}, "unknown cool-down shape"),
    ({"schedule": "wsd"}, "unknown schedule"),
    ({"warmup": 0.9}, "before the warmup"),
    ({"final_lr": 1.0}, "final_lr must be in"),
])
def test_bad_schedule_is_one_clear_line(changes, message):
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        tiny_spec(**({"schedule": "const-cooldown"} | changes))
    assert "\n" not in str(err.value)


def _parsed(spec, tmp_path):
    from open_clip_train.params import parse_args

    return parse_args(oce.to_argv(spec, tmp_path / "run", train_data="s/{0..1}.tar"))


def test_open_clip_translation(tmp_path):
    spec = tiny_spec(samples_seen=640, epochs=5, schedule="const-cooldown", cooldown_shape="linear", final_lr=1e-5)
    a = _parsed(spec, tmp_path)
    assert (a.lr_scheduler, a.epochs_cooldown, a.lr_cooldown_power, a.lr_cooldown_end) == ("const-cooldown", 1, 1.0, 1e-5)
    assert _parsed(tiny_spec(), tmp_path).lr_scheduler == "cosine"  # cosine: open_clip_train's default


@pytest.mark.parametrize("changes, message", [
    ({"cooldown_shape": "1-sqrt", "epochs": 5}, "open_clip_train has no 1-sqrt cool-down"),
    ({"cooldown_shape": "linear", "epochs": 4}, "counts the cool-down in whole epochs"),
])
def test_open_clip_cannot_translate_is_one_clear_line(tmp_path, changes, message):
    spec = tiny_spec(samples_seen=640, schedule="const-cooldown", **changes)
    with pytest.raises(UserInputError, match=message) as err:
        oce.to_argv(spec, tmp_path / "run", train_data="s/{0..1}.tar")
    assert "\n" not in str(err.value)
