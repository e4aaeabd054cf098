"""Law fits on synthetic data with known parameters, intervals, bad input and the result object."""
import dataclasses
import json

import numpy as np
import pytest
from scipy.optimize import least_squares

from clipscale.errors import DataError, FitError, NotFoundError, UserInputError
from clipscale.laws import METHODS, FitResult, Holdout, backtest, compare_methods, fit
from clipscale.laws import _linear

C = np.logspace(9, 13, 25)


def power(c, coef=5.0, alpha=-0.12, floor=0.0):
    return coef * c ** alpha + floor


def test_paper_method_on_a_noiseless_law_is_close():
    # Bin centres are not data points, so the paper's binned fit is close but not exact here.
    res = fit(C, power(C), "paper", n_boot=0)
    assert res.alpha == pytest.approx(-0.12, abs=0.005) and res.n_fit_points == 5


@pytest.mark.parametrize("method", ["ls", "frontier"])
def test_noiseless_power_law_is_recovered_exactly(method):
    res = fit(C, power(C), method, n_boot=100)
    assert res.alpha == pytest.approx(-0.12, abs=1e-9)
    assert res.coef == pytest.approx(5.0, rel=1e-8)
    assert res.r2 == pytest.approx(1.0)
    assert np.abs(res.residuals).max() < 1e-9
    assert res.floor is None


def test_noisy_exponent_lies_in_its_interval():
    rng = np.random.default_rng(1)
    e = power(C) * 10 ** rng.normal(0, 0.02, C.size)
    res = fit(C, e, "ls", n_boot=1000, seed=0)
    lo, hi = res.ci["alpha"]
    assert lo < -0.12 < hi and hi - lo < 0.05
    lo_b, hi_b = res.ci["coef"]
    assert lo_b < 5.0 < hi_b


def test_bootstrap_interval_coverage_is_near_nominal():
    # 300 synthetic studies; the 90% percentile interval of alpha should cover the truth ~90% of the time.
    rng = np.random.default_rng(7)
    covered = 0
    reps = 300
    for _ in range(reps):
        e = power(C) * 10 ** rng.normal(0, 0.05, C.size)
        lo, hi = fit(C, e, "ls", n_boot=300, seed=int(rng.integers(1 << 30)), ci_level=0.9).ci["alpha"]
        covered += lo <= -0.12 <= hi
    assert 0.84 <= covered / reps <= 0.96


def test_bootstrap_is_deterministic_given_seed():
    e = power(C) * 10 ** np.random.default_rng(2).normal(0, 0.03, C.size)
    a, b = fit(C, e, "paper", seed=5), fit(C, e, "paper", seed=5)
    assert a.ci == b.ci
    assert fit(C, e, "paper", seed=6).ci != a.ci


def test_huber_irls_matches_scipy_least_squares():
    rng = np.random.default_rng(4)
    x = np.linspace(9, 13, 30)
    y = -0.1 * x + 0.8 + rng.normal(0, 0.01, 30)
    y[[3, 17]] += 0.3  # outliers
    slope, icpt = _linear.huber_line(x, y, np.ones_like(x), delta=0.02)
    ref = least_squares(lambda p: y - (p[0] + p[1] * x), [0.0, 0.0], loss="huber", f_scale=0.02).x
    assert slope == pytest.approx(ref[1], abs=1e-6) and icpt == pytest.approx(ref[0], abs=1e-5)
    plain, _ = _linear.weighted_line(x, y, np.ones_like(x))
    assert abs(slope + 0.1) < abs(plain + 0.1)  # the outliers pull least squares more


def test_frontier_keeps_only_points_no_cheaper_point_beats():
    x = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    y = np.array([5.0, 6.0, 4.0, 4.5, 3.0])
    assert _linear.frontier_mask(x, y).tolist() == [True, False, True, False, True]


def test_saturating_is_retired_in_one_line_that_names_the_replacement():
    with pytest.raises(UserInputError, match=r"method 'saturating' was retired .* use 'auto'") as info:
        fit(C, power(C), "saturating")
    assert "\n" not in str(info.value)
    assert "saturating" not in METHODS


def test_auto_fits_the_form_it_chooses_and_says_it_chose():
    e = power(C) * 10 ** np.random.default_rng(3).normal(0, 0.01, C.size)
    res = fit(C, e, "auto", n_boot=50)
    assert res.method == "frontier" and res.chosen_from == "auto" and res.notes[0].startswith("form 'frontier'")
    direct = fit(C, e, "frontier", n_boot=50)
    assert res.alpha == direct.alpha and res.coef == direct.coef and direct.chosen_from is None
    back = FitResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.chosen_from == "auto" and back.method == "frontier" and back.calibration is None
    with pytest.raises(UserInputError, match="has no option 'loss'"):
        fit(C, e, "auto", loss="huber")
    with pytest.raises(FitError, match="too few for method 'auto'"):
        fit(C[:1], e[:1], "auto")


@pytest.mark.parametrize("compute,error,match", [
    ([1e9, np.nan, 1e11], [0.5, 0.4, 0.3], "compute must be finite"),
    ([1e9, 0.0, 1e11], [0.5, 0.4, 0.3], "position #1=0.0"),
    ([1e9, 1e10, 1e11], [0.5, -0.1, 0.3], "error must be finite and > 0"),
    ([1e9, 1e10, 1e11], [0.5, 0.0, 0.3], "error must be finite and > 0"),
    ([1e9, 1e10], [0.5, 0.4, 0.3], "pass one error per run"),
])
def test_bad_values_are_named(compute, error, match):
    with pytest.raises(DataError, match=match):
        fit(compute, error)


def test_too_few_points_and_no_spread():
    with pytest.raises(FitError, match=r"1 point\(s\) in group \(g\) are too few for method 'paper'"):
        fit([1e9], [0.5], label="(g)")
    with pytest.raises(FitError, match="no spread in compute"):
        fit([1e9, 1e9, 1e9], [0.5, 0.4, 0.3], "ls")


def test_unknown_method_and_option_list_the_choices():
    with pytest.raises(NotFoundError, match="valid choices: auto, frontier, logodds, logodds-sat, ls, paper;"):
        fit(C, power(C), "chinchilla")
    with pytest.raises(UserInputError, match="valid options: delta, loss"):
        fit(C, power(C), "frontier", huber=True)
    with pytest.raises(UserInputError, match="valid choices: ls, huber"):
        fit(C, power(C), "frontier", loss="l1")
    assert set(METHODS) == {"paper", "ls", "frontier", "auto", "logodds", "logodds-sat"}


def test_predict_interval_and_json_round_trip(tmp_path):
    e = power(C) * 10 ** np.random.default_rng(9).normal(0, 0.02, C.size)
    res = fit(C, e, "ls", n_boot=200)
    target = np.array([1e14, 1e15])
    lo, hi = res.predict_interval(target)
    mid = res.predict(target)
    assert np.all(lo < mid) and np.all(mid < hi)
    clo, chi = res.predict_interval(target, kind="confidence")
    assert np.all(chi - clo < hi - lo)  # the law is surer than a new run's point
    res.save(tmp_path / "fit.json")
    data = json.loads((tmp_path / "fit.json").read_text())
    assert data["floor"] is None and data["method"] == "ls" and len(data["residuals"]) == C.size
    back = FitResult.load(tmp_path / "fit.json")
    np.testing.assert_allclose(back.predict(target), mid)
    np.testing.assert_allclose(back.predict_interval(target)[0], lo)
    assert back.ci == res.ci and back.formula() == res.formula()
    with pytest.raises(DataError, match="not a fit this version of clipscale reads"):
        FitResult.from_dict({"schema": "other"})


def test_backtest_and_method_comparison():
    e = power(C)
    bt = backtest(C, e, "ls", holdout=Holdout(top=3))
    assert bt.n_heldout == 3 and bt.mae_pct < 1e-6
    assert set(bt.compute) == set(C[-3:])
    bt2 = backtest(C, e, "paper", holdout=Holdout(top_frac=0.2))
    assert bt2.n_heldout == 5
    cut = backtest(C, e, "ls", holdout=Holdout(above=1e12))
    assert (cut.compute > 1e12).all() and cut.n_heldout == int((C > 1e12).sum())
    table = compare_methods(C, e * 10 ** np.random.default_rng(0).normal(0, 0.01, C.size), holdout=Holdout(top=5))
    assert list(table["method"]) == ["paper", "ls", "frontier", "auto"]
    assert (table["n_heldout"] == 5).all() and (table["mae_pct"] >= 0).all()
    with pytest.raises(DataError, match="exactly one held-out split"):
        Holdout(top=2, above=1e11)
    with pytest.raises(DataError, match="leaves none to fit"):
        backtest(C, e, holdout=Holdout(top=25))


def test_holdout_is_one_validated_split():
    """Holdout: exactly one form, checked when made; train_mask keeps the cheaper runs."""
    c = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert Holdout(top=2).train_mask(c).tolist() == [False, True, True, True, False]
    assert Holdout(top_frac=0.2).train_mask(c).tolist() == [False, True, True, True, True]  # ceil(0.2 x 5) = 1
    assert Holdout(above=3.0).train_mask(c).tolist() == [False, True, True, True, False]
    assert Holdout.of() is None and Holdout.of(top=3) == Holdout(top=3)
    assert Holdout(top=3).describe() == "the 3 largest-compute runs held out"
    for bad, match in (({}, "exactly one"), ({"top": 1, "top_frac": 0.5}, "exactly one"),
                       ({"top_frac": 1.5}, r"fraction in \(0, 1\)"), ({"top": 0}, "whole number >= 1"),
                       ({"top": 2.5}, "whole number"), ({"above": float("nan")}, "finite")):
        with pytest.raises(DataError, match=match):
            Holdout(**bad)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Holdout(top=1).top = 2


def test_a_frontier_top_split_judges_the_top_frontier_runs():
    """Holdout(frontier_top=K): the K largest-compute frontier runs are judged, every run at or above
    the cheapest of them held out; it needs the errors, and is validated like the others."""
    c = np.array([1, 2, 3, 4, 5, 6, 7.0])
    e = np.array([0.9, 0.7, 0.5, 0.6, 0.3, 0.35, 0.2])  # 4 and 6 are not on the frontier
    h = Holdout(frontier_top=3)
    assert h.train_mask(c, e).tolist() == [True, True, False, False, False, False, False]
    assert h.judged_mask(c, e).tolist() == [False, False, True, False, True, False, True]
    assert Holdout.of(frontier_top=2) == Holdout(frontier_top=2) and "frontier run" in h.describe()
    assert Holdout(top=4).judged_mask(c, e).tolist() == [False, False, False, False, True, False, True]
    with pytest.raises(DataError, match="needs the runs' errors"):
        h.train_mask(c)
    for bad in (0, 1.5, True):
        with pytest.raises(DataError, match="holdout-frontier-top must be a whole number"):
            Holdout(frontier_top=bad)
    bt = backtest(c, e, "ls", holdout=h)
    assert bt.n_heldout == 5 and bt.judged.tolist() == [True, False, True, False, True]
    frame = bt.held_out_frame()
    assert frame["on_frontier"].tolist() == [True, False, True, False, True]
