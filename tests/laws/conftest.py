"""Shared synthetic data for the law tests."""
import numpy as np
import pytest


@pytest.fixture
def odds_curve():
    """error(C) with E/(1-E) = coef * C^alpha + floor on 24 log-spaced computes from 10 to 1e4, the
    odds times 10^N(0, noise) (seeded): a curve that falls like a sigmoid in log compute."""
    def make(coef, alpha, floor=0.0, noise=0.0, seed=0, n=24):
        rng = np.random.default_rng(seed)
        c = np.logspace(1, 4, n)
        odds = (coef * c ** alpha + floor) * 10 ** rng.normal(0, noise, c.size)
        return c, odds / (1 + odds)
    return make
