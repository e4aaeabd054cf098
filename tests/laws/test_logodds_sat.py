"""Method 'logodds-sat' (E/(1-E) = coef*C^alpha + k on the compute frontier): a floored log-odds law."""
import numpy as np
import pytest

from clipscale.laws import FitResult, Holdout, backtest, fit


@pytest.fixture
def floored_curve(odds_curve):
    return lambda noise=0.0, seed=0: odds_curve(400.0, -1.5, floor=0.005, noise=noise, seed=seed)


def test_it_recovers_a_known_floored_law(floored_curve):
    c, e = floored_curve()
    res = fit(c, e, "logodds-sat", n_boot=0)
    assert res.alpha == pytest.approx(-1.5, abs=1e-3)
    assert res.coef == pytest.approx(400.0, rel=1e-2)
    assert res.floor == pytest.approx(0.005, rel=1e-2)
    assert res.r2 == pytest.approx(1.0, abs=1e-6)
    assert res.space == "logodds"
    assert res.formula().startswith("E/(1-E) = ") and res.formula().endswith(" + 5.00e-03")
    assert np.allclose(res.predict(c), e, rtol=1e-3)


def test_it_predicts_a_bending_curve_better_than_the_plain_log_odds_law(floored_curve):
    c, e = floored_curve(noise=0.02, seed=2)
    sat = backtest(c, e, "logodds-sat", holdout=Holdout(top=5))
    line = backtest(c, e, "logodds", holdout=Holdout(top=5))
    assert sat.mae_pct < line.mae_pct
    assert sat.mae_pct < 0.2


def test_its_floor_interval_is_kept_and_covers_the_truth(floored_curve):
    c, e = floored_curve(noise=0.03, seed=5)
    res = fit(c, e, "logodds-sat", n_boot=200, seed=1)
    assert "floor" in res.boot and res.boot["floor"].size > 150
    lo, hi = res.ci["floor"]
    assert lo <= 0.005 <= hi
    plo, phi = res.predict_interval([1e5], 0.9)
    assert plo[0] < 0.005 / 1.005 * 1.2 and phi[0] > 0.005 / 1.005 * 0.8


def test_a_short_frontier_falls_back_to_the_line_and_says_so():
    res = fit([10, 100, 1000], [0.9, 0.5, 0.1], "logodds-sat", n_boot=10)
    assert res.floor is None
    assert any("too few for a floor" in n for n in res.notes)


def test_it_round_trips_through_json(tmp_path, floored_curve):
    c, e = floored_curve(noise=0.02)
    res = fit(c, e, "logodds-sat", n_boot=30)
    back = FitResult.load(res.save(tmp_path / "f.json"))
    assert back.method == "logodds-sat" and back.floor == pytest.approx(res.floor)
    assert np.allclose(back.predict_interval([3e4], 0.9), res.predict_interval([3e4], 0.9))
