"""JointFit: the joint law E(N, D) as a result object, bootstrap coverage, allocation."""
import numpy as np
import pytest

from clipscale.errors import DataError, FitError
from clipscale.laws import _joint_opt as J
from clipscale.laws.allocate import LogLogCost, chinchilla_a_opt, optimal
from clipscale.laws.joint import JointFit, fit_joint

TRUE = {"A": 400.0, "B": 2000.0, "floor": 1.8, "size_exp": 0.34, "data_exp": 0.37}
THETA = np.array([np.log(400), np.log(2000), np.log(1.8), 0.34, 0.37])
SMALL = J.start_grid({"a": np.array([0, 5, 10.]), "b": np.array([0, 5, 10.]), "e": np.array([-1, 0, 1.]),
                      "size_exp": np.array([0.2, 0.5]), "data_exp": np.array([0.2, 0.5])})


def _runs(seed, n=80, noise=0.01):
    rng = np.random.default_rng(seed)
    size = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    data = np.exp(rng.uniform(np.log(1e9), np.log(1e12), n))
    err = np.exp(J.log_law(THETA, np.log(size), np.log(data)) + rng.normal(0, noise, n))
    return size, data, err


def test_recovers_the_law_and_round_trips(tmp_path):
    fit = fit_joint(*_runs(0), n_boot=50, starts=SMALL)
    for k, v in TRUE.items():
        # A and B trade off against size_exp and data_exp (as in Chinchilla): within a factor 3
        assert abs(np.log(getattr(fit, k) / v)) < (np.log(3) if k in "AB" else 0.15)
        lo, hi = fit.ci[k]
        assert lo <= getattr(fit, k) <= hi
    back = JointFit.load(fit.save(tmp_path / "j.json"))
    assert back.params == fit.params
    assert np.allclose(back.predict([1e9], [1e11]), fit.predict([1e9], [1e11]))
    lo, hi = back.predict_interval([1e9, 1e10], [1e11, 1e12])
    mid = back.predict([1e9, 1e10], [1e11, 1e12])
    assert np.all(lo < mid) and np.all(mid < hi)


def test_bootstrap_coverage_is_near_nominal():
    """150 synthetic data sets from a known law; 90% intervals must cover each parameter
    in 85-95% of them (within 5 points of nominal)."""
    hits = dict.fromkeys(TRUE, 0)
    reps = 150
    for rep in range(reps):
        fit = fit_joint(*_runs(rep), n_boot=200, seed=rep, starts=SMALL, ci_level=0.9)
        for k, v in TRUE.items():
            hits[k] += fit.ci[k][0] <= v <= fit.ci[k][1]
    for k, h in hits.items():
        assert abs(h / reps - 0.9) <= 0.05, (k, h / reps)


def test_bad_input_is_one_clear_error():
    with pytest.raises(FitError, match="too few for the joint law"):
        fit_joint([1, 2, 3], [1, 2, 3], [1, 2, 3])
    with pytest.raises(DataError, match="model size N must be finite and > 0"):
        fit_joint([0, 2, 3, 4, 5, 6], [1] * 6, [1] * 6)
    with pytest.raises(DataError, match="data size D must be numbers"):
        fit_joint([1] * 6, ["a"] * 6, [1] * 6)


def test_allocation_matches_the_closed_form_for_6ND():
    th = np.array([[6.1780, 7.6427, 0.5971, 0.3478, 0.3659]])            # Epoch's published fit
    a, b, al, be = np.exp(6.1780), np.exp(7.6427), 0.3478, 0.3659
    c = np.array([1e21, 5.88e23])
    out = optimal(th, c, LogLogCost.linear(6), (7e7, 1.6e10))
    g = (al * a / (be * b)) ** (1 / (al + be))
    assert np.allclose(out["N_opt"][0], g * (c / 6) ** chinchilla_a_opt(al, be), rtol=1e-4)
    assert chinchilla_a_opt(al, be) == pytest.approx(0.513, abs=5e-4)
    assert out["N_opt"][0, 1] == pytest.approx(7.3e10, rel=0.01)          # README: 7.3e10 params
    assert out["D_opt"][0, 1] == pytest.approx(1.34e12, rel=0.01)         # and 1.34e12 tokens


def test_loglog_cost_interpolates_and_extends():
    cost = LogLogCost.from_pairs([1e6, 1e8], [1.0, 100.0])
    assert cost(1e7) == pytest.approx(10.0)
    assert cost(1e9) == pytest.approx(1000.0)


def test_fit_optimal_reports_bands_and_extrapolation():
    fit = fit_joint(*_runs(1), n_boot=40, starts=SMALL)
    cost = LogLogCost.linear(6)
    rows = fit.optimal([1e21, 1e26], cost)
    assert rows[0]["N_opt_lo"] <= rows[0]["N_opt"] <= rows[0]["N_opt_hi"]
    assert rows[0]["extrapolation_decades"] == 0.0
    assert rows[1]["extrapolation_decades"] > 1.0
