"""clipscale.laws.trust: a law through runs near chance, or one the runs do not pin down, is not a result;
the joint law of error fractions is bounded to [0, 1]."""
import numpy as np
import pytest

from clipscale.laws import _joint_opt as J
from clipscale.laws import fit, fit_joint
from clipscale.laws import trust as T

SMALL = J.start_grid({"a": np.array([0, 5, 10.]), "b": np.array([0, 5, 10.]), "e": np.array([-1, 0, 1.]),
                      "size_exp": np.array([0.2, 0.5]), "data_exp": np.array([0.2, 0.5])})


def _joint_runs(seed, n=60, sizes=None):
    """Runs of E = 0.05 + 30/N^0.5 + 300/D^0.5 (fractions) on a spread of sizes and data."""
    rng = np.random.default_rng(seed)
    size = np.exp(rng.uniform(np.log(1e4), np.log(1e7), n)) if sizes is None else rng.choice(sizes, n)
    data = np.exp(rng.uniform(np.log(1e6), np.log(1e9), n))
    e = (0.05 + 30 / size ** 0.5 + 300 / data ** 0.5) * np.exp(rng.normal(0, 0.01, n))
    return size, data, e


def test_runs_near_chance_have_not_learned_yet():
    c = np.logspace(1, 3, 6)
    near = np.array([0.995, 0.99, 0.985, 0.97, 0.95, 0.93])  # the small study: 93-99.5%, chance 99.5%
    law = fit(c, near, "frontier", n_boot=100)
    assert law.r2 > 0.9  # a tidy law through noise around chance ...
    verdict = T.frontier_verdict(law, chance=0.995)
    assert verdict.status == T.NOT_LEARNED and "93.0% error, chance is 99.5%" in verdict.reason  # ... is not one
    assert T.learned(near * 0.5, 0.995).ok and T.learned(near, None).ok  # learned; chance unknown: no check
    assert "\n" not in verdict.line("embedded/objects")


def test_a_flat_or_short_frontier_is_not_a_result():
    c = np.logspace(1, 3, 8)
    flat = 0.3 * 10 ** np.random.default_rng(0).normal(0, 0.05, 8)
    assert T.frontier_verdict(fit(c, flat, "ls", n_boot=200)).status == T.NOT_IDENTIFIED
    two = fit(c[:2], [0.5, 0.4], "frontier", n_boot=50)
    assert T.frontier_verdict(two).status == T.TOO_FEW
    good = fit(c, 0.6 * c ** -0.2 * 10 ** np.random.default_rng(1).normal(0, 0.01, 8), "frontier", n_boot=200)
    assert T.frontier_verdict(good, chance=0.99).ok


def test_a_joint_law_the_runs_pin_down_is_identified_and_one_from_one_size_is_not():
    ok = fit_joint(*_joint_runs(0), n_boot=100, starts=SMALL)
    assert T.joint_verdict(ok, chance=0.99).ok
    one = fit_joint(*_joint_runs(1, sizes=[1e5, 1.1e5]), n_boot=100, starts=SMALL)
    verdict = T.joint_verdict(one)
    assert verdict.status == T.NOT_IDENTIFIED and "2 model sizes" in verdict.reason


def test_the_joint_law_of_error_fractions_never_predicts_above_100_percent():
    n, d, e = _joint_runs(2)
    free = fit_joint(n, d, e, n_boot=100, starts=SMALL)
    bounded = fit_joint(n, d, e, n_boot=100, starts=SMALL, bounded=True)
    tiny = ([10.0, 1e5], [10.0, 1e8])  # a model and a run far below the fitted ones
    assert free.predict(*tiny)[0] > 1  # the law itself passes 100% ...
    assert bounded.predict(*tiny)[0] == 1.0 and bounded.predict(*tiny)[1] == pytest.approx(free.predict(*tiny)[1])
    lo, hi = bounded.predict_interval(*tiny, level=0.9)
    assert np.all(hi <= 1) and np.all(lo <= hi)
    assert type(bounded).from_dict(bounded.to_dict()).bounded
