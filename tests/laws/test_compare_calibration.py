"""The comparison is calibrated: on synthetic pairs of laws with a known crossing and the paper's
scatter (tests/laws/compare_sim.py), the 90% crossover interval holds the truth 85-95% of the time
and p_steeper is right as often as it claims. benchmarks/bench_compare.py runs the long version."""
from __future__ import annotations

import numpy as np
import pytest

from compare_sim import reliability, simulate


@pytest.fixture(scope="module")
def pairs():
    """300 pairs, 10-30 runs per recipe over 2-3 decades, least-squares laws, the law's bootstrap."""
    return simulate(300, n=(10, 30), method="ls", scheme="runs", n_boot=400, seed=0)


def test_the_90_percent_crossover_interval_holds_the_truth_85_to_95_percent(pairs):
    reported = pairs[pairs["reported"]]
    assert len(reported) >= 100  # an interval is reported for a good share of the pairs
    assert 0.85 <= reported["covered"].mean() <= 0.95
    assert 0.85 <= pairs["covered_set"].mean() <= 0.95  # the 90% set, reported or not


def test_p_steeper_is_right_as_often_as_it_claims(pairs):
    table = reliability(pairs["p_steeper"], pairs["steeper_right"])
    assert table["n"].sum() == len(pairs)
    for row in table[table["n"] >= 20].itertuples():
        assert abs(row.observed - row.claimed) <= 3 * row.se + 0.02, table.to_string()
    assert abs(pairs["p_steeper"].mean() - pairs["steeper_right"].mean()) < 0.03


def test_with_three_runs_the_resampled_runs_bootstrap_overclaims_and_the_parametric_one_does_not():
    """Why a recipe with few runs gets the parametric bootstrap: resampling 3 runs claims p_steeper
    near 1 far more often than it is right; the parametric draws (Student's t) do not."""
    def top(scheme):
        df = simulate(120, n=(3, 3), method="ls", scheme=scheme, n_boot=200, seed=1)
        sure = df["p_steeper"] >= 0.9
        return sure.sum(), df.loc[sure, "steeper_right"].mean(), df.loc[sure, "p_steeper"].mean()

    n_runs, right_runs, claim_runs = top("runs")
    n_par, right_par, claim_par = top("parametric")
    assert n_runs >= 20 and claim_runs - right_runs > 0.1  # overconfident
    assert n_par >= 5 and abs(claim_par - right_par) < 0.1 + 3 * np.sqrt(claim_par * (1 - claim_par) / n_par)
