"""clipscale.laws.uncertainty: error sources composed into predictive quantiles in a law's space."""
import numpy as np
import pytest
from scipy import stats

from clipscale.errors import DataError
from clipscale.laws import uncertainty as U


def test_binomial_sd_is_the_proportion_sd_carried_by_the_slope():
    e = np.array([0.02, 0.3, 0.9])
    sd_e = np.sqrt(e * (1 - e) / 4800)
    assert np.allclose(U.binomial_sd(e, 4800, "log"), sd_e / (e * np.log(10)))
    assert np.allclose(U.binomial_sd(e, 4800, "logodds"), sd_e / (e * (1 - e) * np.log(10)))
    assert np.all(U.binomial_sd(e, None, "log") == 0)
    per_point = U.binomial_sd(e, [100, 4800, 50000], "log")
    assert per_point[0] == pytest.approx(np.sqrt(0.02 * 0.98 / 100) / (0.02 * np.log(10)))


def test_one_gaussian_gives_the_normal_quantiles():
    q = U.mixture_quantiles([[0.3]], [[0.1]], [0.05, 0.5, 0.95])
    assert np.allclose(q[:, 0], 0.3 + 0.1 * stats.norm.ppf([0.05, 0.5, 0.95]), atol=1e-6)
    t = U.mixture_quantiles([[0.0]], [[1.0]], [0.95], dof=4)
    assert t[0, 0] == pytest.approx(stats.t.ppf(0.95, 4), abs=1e-6)


def test_a_mixture_without_noise_is_the_bootstrap_distribution():
    centres = np.arange(1000, dtype=float)[:, None]
    q = U.mixture_quantiles(centres, np.zeros_like(centres), [0.05, 0.95])
    assert q[0, 0] == pytest.approx(np.quantile(centres, 0.05), abs=1.0)
    assert q[1, 0] == pytest.approx(np.quantile(centres, 0.95), abs=1.0)


def test_independent_sources_add_in_quadrature():
    sd = U.noise_sd(np.log10([0.2]), "log", scatter_sd=0.03, seed_sd=0.04, distance=[2.0], growth=0.06)
    assert sd[0] == pytest.approx(np.sqrt(0.03 ** 2 + 0.04 ** 2 + 0.12 ** 2))
    lo, hi = U.predictive_interval(np.log10([[0.2]]), 0.9, "log", scatter_sd=0.05)
    assert np.log10(hi[0] / 0.2) == pytest.approx(0.05 * stats.norm.ppf(0.95), abs=1e-6)
    assert np.log10(0.2 / lo[0]) == pytest.approx(0.05 * stats.norm.ppf(0.95), abs=1e-6)


@pytest.mark.parametrize("space", ["log", "logodds"])
def test_coverage_with_known_scatter_and_test_set_noise_is_nominal(space):
    """New runs at a known law, with scatter 0.02 in y and errors counted on 2,000 test images, fall
    inside the 50/90% intervals at the nominal rate (4,000 runs: binomial sd of the rate <= 0.8%)."""
    rng = np.random.default_rng(3)
    truth = U.to_space(np.array([0.03, 0.1, 0.4, 0.8]), space)
    n, s = 2000, 0.02
    y_true = truth + rng.normal(0, s, size=(1000, truth.size))
    observed = rng.binomial(n, U.from_space(y_true, space)) / n
    for level in (0.5, 0.9):
        lo, hi = U.predictive_interval(truth[None, :], level, space, scatter_sd=s, n_test=n)
        inside = (observed >= lo) & (observed <= hi)
        assert abs(inside.mean() - level) < 0.03, (level, inside.mean(axis=0))
        without = U.predictive_interval(truth[None, :], level, space, scatter_sd=s)
        assert np.all(without[1] - without[0] < hi - lo)  # the test-set term widens the interval


def test_intrinsic_scatter_removes_the_test_set_and_seed_parts():
    rng = np.random.default_rng(0)
    e = np.full(20000, 0.1)
    binom_only = np.log10(rng.binomial(5000, e) / 5000)
    s = U.intrinsic_scatter(float(np.std(binom_only)), e, "log", n_test=5000)
    assert s < 0.003  # the binomial sd at 10% on 5,000 images is 0.0184 decades
    mixed = np.log10(e) + rng.normal(0, 0.02, e.size)
    resid = np.std(np.log10(rng.binomial(5000, 10 ** mixed) / 5000) - np.log10(e))
    assert U.intrinsic_scatter(float(resid), e, "log", n_test=5000) == pytest.approx(0.02, rel=0.1)
    assert U.intrinsic_scatter(0.05, e, "log", seed_sd=0.03) == pytest.approx(0.04)
    assert U.intrinsic_scatter(0.02, e, "log", seed_sd=0.03) == 0.0


def test_seed_sd_is_pooled_over_replicated_configurations():
    rng = np.random.default_rng(1)
    config = np.repeat(np.arange(50), 3)
    y = np.repeat(rng.normal(0, 1, 50), 3) + rng.normal(0, 0.05, 150)
    sd, dof = U.seed_sd_from_replicates(y, config)
    assert dof == 100 and sd == pytest.approx(0.05, rel=0.2)
    assert U.seed_sd_from_replicates([1.0, 2.0], ["a", "b"]) is None
    with pytest.raises(DataError, match="one label per run"):
        U.seed_sd_from_replicates([1.0, 2.0], ["a"])


def test_extrapolation_decades_are_zero_inside_the_fitted_range():
    assert np.allclose(U.extrapolation_decades([10, 100, 1e4], 100), [0, 0, 2])
    with pytest.raises(DataError, match="> 0"):
        U.extrapolation_decades([0.0], 100)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_test": 0}, "whole numbers"), ({"n_test": 10.5}, "whole numbers"), ({"n_test": "many"}, "number"),
    ({"scatter_sd": -0.1}, ">= 0"), ({"growth": float("nan")}, ">= 0"), ({"space": "linear"}, "valid choices"),
])
def test_bad_sources_are_refused(kwargs, match):
    args = {"scatter_sd": 0.01, "space": "log", **kwargs}
    space = args.pop("space")
    with pytest.raises(DataError, match=match):
        U.predictive_quantiles([[-1.0]], [0.5], space, **args)


def test_bad_levels_and_empty_bootstraps_are_refused():
    with pytest.raises(DataError, match="level"):
        U.predictive_interval([[-1.0]], 1.0, "log", scatter_sd=0.01)
    with pytest.raises(DataError, match="probabilities"):
        U.mixture_quantiles([[0.0]], [[1.0]], [0.0])
    with pytest.raises(DataError, match="n_boot"):
        U.predictive_quantiles(np.empty((0, 3)), [0.5], "log", scatter_sd=0.01)
