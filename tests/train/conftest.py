"""Fixtures of the train tests: one tiny finished run shared by the tests that only read it."""
from __future__ import annotations

import pytest

from clipscale.train import train

from .helpers import tiny_spec


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished native run of tiny_spec() (read-only for the tests)."""
    out = tmp_path_factory.mktemp("tiny_run")
    return train(tiny_spec(), out, progress=False)
