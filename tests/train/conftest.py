"""Fixtures of the train tests: one tiny finished run shared by the tests that only read it."""
from __future__ import annotations

import pytest

from clipscale.train import TrainSpec, train

# ladder-xs, 256 pairs, 8 steps of 32 in 2 epochs: about a second of training.
TINY = dict(model="ladder-xs", data_size=256, samples_seen=256, batch_size=32, epochs=2, num_threads=1)


def tiny_spec(**changes) -> TrainSpec:
    return TrainSpec(**(TINY | changes))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished native run of tiny_spec() (read-only for the tests)."""
    out = tmp_path_factory.mktemp("tiny_run")
    return train(tiny_spec(), out, progress=False)


def state_dict(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_bit_identical(a: dict, b: dict) -> None:
    import torch

    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"
