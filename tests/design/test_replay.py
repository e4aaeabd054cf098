"""design.replay: the split, the strategies' budgets, that the adaptive design never sees a target,
determinism, and its files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clipscale.design.outputs import print_summary, ratio, write_replay
from clipscale.design.replay import REPLAY_COLUMNS, ReplaySettings, groups, replay
from clipscale.errors import DataError, UserInputError

from .world import make_table

SETTINGS = ReplaySettings(draws=4, data_col="unique_samples")


def test_one_row_per_group_and_strategy_within_budget(table):
    frame, chosen, decisions, skipped = replay(table, SETTINGS)
    assert list(frame.columns) == ["downstream_dataset", "group"] + list(REPLAY_COLUMNS)
    assert len(frame) == 2 * 3 and not skipped
    by = frame.set_index(["downstream_dataset", "strategy"])
    for ds in ("a", "b"):
        assert by.loc[(ds, "full"), "compute_frac"] == 1.0
        for s in ("adaptive", "random"):
            assert 0 < by.loc[(ds, s), "compute_frac"] <= SETTINGS.budget_frac + 1e-12
        assert by.loc[(ds, "random"), "n_draws"] == SETTINGS.draws
    assert frame["n_targets"].min() >= 1 and frame["median_miss_pct"].notna().all()
    # chosen.csv: every strategy's runs, the random draws numbered, the adaptive rounds from the seed on
    assert set(chosen["strategy"]) == {"adaptive", "random", "full"}
    assert set(chosen.loc[chosen["strategy"] == "random", "draw"]) == set(range(SETTINGS.draws))
    assert chosen.loc[chosen["strategy"] == "adaptive", "round"].min() == 0
    assert {d["downstream_dataset"] for d in decisions} == {"a", "b"} and decisions[0]["phase"] == "seed"


def test_the_split_holds_out_the_top_compute_and_targets_its_frontier_runs(table):
    found, keys, _ = groups(table, SETTINGS)
    g = found[0]
    cut = np.quantile(table.loc[table["downstream_dataset"] == "a", "gmacs_total"], 0.8)
    assert max(c.compute for c in g.candidates) <= cut < g.target_compute.min()
    assert set(g.target_compute) <= set(g.held_compute)
    pool_best = min(g.errors.values())
    assert np.all(g.target_error < pool_best)  # a frontier run beats every cheaper run


def test_the_adaptive_design_never_sees_the_targets(table):
    """Changing the errors of the held-out runs changes no choice of the adaptive design."""
    _, chosen, _, _ = replay(table, ReplaySettings(strategies=("adaptive",), data_col="unique_samples"))
    other = table.copy()
    cut = other.groupby("downstream_dataset")["gmacs_total"].transform(lambda c: c.quantile(0.8))
    held = other["gmacs_total"] > cut
    other.loc[held, "acc1"] = other.loc[held, "acc1"] + 0.05  # still held-out frontier runs, other errors
    frame2, chosen2, _, _ = replay(other, ReplaySettings(strategies=("adaptive",), data_col="unique_samples"))
    pd.testing.assert_frame_equal(chosen, chosen2)
    assert frame2["n_targets"].min() >= 1


def test_same_table_same_replay(table):
    a = replay(table, SETTINGS)
    b = replay(table, SETTINGS)
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    c = replay(table, ReplaySettings(draws=4, data_col="unique_samples", seed=1))
    assert not c[1][c[1]["strategy"] == "random"].equals(a[1][a[1]["strategy"] == "random"])


def test_on_a_noiseless_grid_adaptive_predicts_about_as_well_as_the_whole_pool():
    frame, _, _, _ = replay(make_table(noise=0.0), ReplaySettings(draws=10, data_col="unique_samples"))
    miss = frame.groupby("strategy")["median_miss_pct"].mean()
    assert miss["adaptive"] <= 1.25 * miss["full"]
    assert miss["adaptive"] <= miss["random"]


def test_groups_without_a_held_out_frontier_run_are_named_and_left_out(table):
    worse = table.copy()
    top = (worse["downstream_dataset"] == "b") & (worse["gmacs_total"] > 1.2e5)
    worse.loc[top, "acc1"] = 0.05  # the largest runs of b beat nothing cheaper
    frame, _, _, skipped = replay(worse, SETTINGS)
    assert set(frame["downstream_dataset"]) == {"a"}
    assert skipped == ["(b, openclip): no held-out run lies on the compute frontier"]
    with pytest.raises(DataError, match="no group has a held-out run"):
        replay(worse, SETTINGS, where="downstream_dataset==b")


@pytest.mark.parametrize("frac", [0.0, -0.1, 1.5])
def test_a_budget_fraction_outside_0_1_is_refused(table, frac):
    with pytest.raises(UserInputError, match=r"\(0, 1\]"):
        replay(table, ReplaySettings(budget_frac=frac))


def test_a_budget_below_the_seed_names_the_least_fraction(table):
    with pytest.raises(UserInputError, match=r"below the seed design's cost .* at least 0\.0"):
        replay(table, ReplaySettings(budget_frac=0.001, data_col="unique_samples"))
    replay(table, ReplaySettings(budget_frac=0.001, strategies=("random", "full")))  # no seed to afford


def test_files_are_written_and_the_summary_states_the_ratios(table, tmp_path, capsys):
    frame, chosen, decisions, skipped = replay(table, SETTINGS)
    paths = write_replay(tmp_path / "out", frame, chosen, decisions)
    assert [p.name for p in paths] == ["replay.csv", "chosen.csv", "decisions.jsonl"]
    pd.testing.assert_frame_equal(pd.read_csv(paths[0]), frame, check_dtype=False)
    lines = paths[2].read_text().splitlines()
    assert len(lines) == len(decisions) and json.loads(lines[-1])["phase"] == "stop"
    r, n = ratio(frame, "adaptive", "full")
    assert n == 2 and r == pytest.approx(frame[frame.strategy == "adaptive"].median_miss_pct.mean()
                                         / frame[frame.strategy == "full"].median_miss_pct.mean())
    import sys

    print_summary(frame, skipped, SETTINGS, out=sys.stdout)
    out = capsys.readouterr().out
    assert f"adaptive / full: {r:.2f}x" in out and "adaptive / random:" in out


def test_rows_that_cannot_be_fitted_are_dropped_and_said(table):
    solved = table.copy()
    solved.loc[0, "acc1"] = 1.0  # error 0: no log
    _, _, _, skipped = replay(solved, SETTINGS)
    assert skipped[0].startswith("1 row(s) that cannot be fitted")
