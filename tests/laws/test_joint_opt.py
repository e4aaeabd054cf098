"""The joint law's objective (approach 3) against Epoch's certified Chinchilla values."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from clipscale.laws import _joint_opt as J

DATA = Path(__file__).resolve().parents[3] / "shared" / "chinchilla" / "svg_extracted_data.csv"


def _data():
    df = pd.read_csv(DATA)
    n, c, loss = df["Model Size"].to_numpy(), df["Training FLOP"].to_numpy(), df["loss"].to_numpy()
    keep = loss < sorted(loss)[-5]
    d = c / (6 * n)
    return np.log(n[keep]), np.log(d[keep]), np.log(loss[keep])


@pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/chinchilla")
def test_certified_minimum_from_certified_point():
    ln, ld, le = _data()
    assert len(ln) == 240
    x, f = J.minimise(np.array([6.168, 7.669, 0.5973, 0.3473, 0.3671]), ln, ld, le, 1e-3)
    assert f == pytest.approx(1.0183e-3, rel=1e-3)
    a, b, e, size_exp, data_exp = x
    assert np.exp(a) == pytest.approx(477.8, rel=5e-3)
    assert np.exp(b) == pytest.approx(2144, rel=5e-3)
    assert np.exp(e) == pytest.approx(1.8172, rel=5e-3)
    assert size_exp == pytest.approx(0.3473, rel=5e-3)
    assert data_exp == pytest.approx(0.3671, rel=5e-3)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    ln, ld = rng.uniform(18, 24, 50), rng.uniform(20, 27, 50)
    le = J.log_law(np.array([6.0, 7.0, 0.5, 0.3, 0.3]), ln, ld) + rng.normal(0, 0.01, 50)
    theta = np.array([5.0, 6.0, 0.4, 0.35, 0.25])
    _, g = J.objective(theta, ln, ld, le, 0.05)
    num = approx_fprime(theta, lambda t: J.objective(t, ln, ld, le, 0.05)[0], 1e-7)
    assert np.allclose(g, num, rtol=1e-4, atol=1e-6)


def test_grid_has_4500_starts():
    assert J.start_grid().shape == (4500, 5)


@pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/chinchilla")
def test_certified_minimum_from_the_full_grid_search():
    ln, ld, le = _data()
    x, f, k = J.grid_search(ln, ld, le, 1e-3)
    assert k == 4500
    assert f == pytest.approx(1.0183e-3, rel=1e-3)
    a, b, e, size_exp, data_exp = x
    for got, want in ((np.exp(a), 477.8), (np.exp(b), 2144), (np.exp(e), 1.8172), (size_exp, 0.3473), (data_exp, 0.3671)):
        assert float(f"{got:.3g}") == float(f"{want:.3g}")
    assert data_exp / (size_exp + data_exp) == pytest.approx(0.514, abs=1e-3)   # Epoch's MLE point gives 0.513


def test_batched_lm_matches_scipy_from_the_same_start():
    rng = np.random.default_rng(1)
    ln, ld = rng.uniform(18, 24, 60), rng.uniform(20, 27, 60)
    le = J.log_law(np.array([6.0, 7.0, 0.5, 0.3, 0.35]), ln, ld) + rng.normal(0, 0.02, 60)
    starts = np.array([[5.0, 5.0, 0.0, 0.5, 0.5], [10.0, 10.0, 0.5, 0.5, 0.5]])
    th, f = J.batch_minimise(starts, ln, ld, le, 1e-3)
    for s, fb in zip(starts, f):
        _, fs = J.minimise(s, ln, ld, le, 1e-3)
        assert fb <= fs * (1 + 1e-4)
    assert np.allclose(f, J.batch_objective(th, ln, ld, le, 1e-3))
