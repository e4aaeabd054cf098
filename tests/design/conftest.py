"""Fixtures of the design tests: the synthetic grid of world.py."""
from __future__ import annotations

import pandas as pd
import pytest

from .world import make_table


@pytest.fixture
def table() -> pd.DataFrame:
    """Two downstream datasets x 40 runs, errors with 1% scatter (seeded)."""
    return make_table(noise=0.01)
