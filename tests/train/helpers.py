"""Helpers of the train tests: the tiny spec and bit-for-bit comparison of weights."""
from __future__ import annotations

from clipscale.train import TrainSpec

# ladder-xs, 256 pairs, 8 steps of 32 in 2 epochs: about a second of training.
TINY = dict(model="ladder-xs", data_size=256, samples_seen=256, batch_size=32, epochs=2, num_threads=1)


def tiny_spec(**changes) -> TrainSpec:
    return TrainSpec(**(TINY | changes))


def state_dict(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_bit_identical(a: dict, b: dict) -> None:
    import torch

    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"
