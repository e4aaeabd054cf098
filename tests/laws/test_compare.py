"""clipscale.laws.compare and laws.recipes: two recipes' laws compared through independent draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipscale.errors import DataError, FitError, UserInputError
from clipscale.laws import compare as cmp
from clipscale.laws.draws import pooled_scatter
from clipscale.laws.fit import fit
from clipscale.laws.recipes import compare_recipes


def _runs(alpha, err_at_1e10, n, sd, seed, decades=3.0):
    """n runs of E = err_at_1e10 * (C / 1e10)^alpha with log10 scatter sd, C from 1e10 over `decades`."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(10.0, 10.0 + decades, n))
    y = np.log10(err_at_1e10) + alpha * (x - 10.0) + rng.normal(0.0, sd, n)
    return 10.0 ** x, 10.0 ** y


def _table(spec: dict, dataset="imagenet1k") -> pd.DataFrame:
    """A long results table: spec = {recipe: (alpha, err_at_1e10, n, sd, seed)}; recipe in column 'recipe'."""
    frames = []
    for name, args in spec.items():
        c, e = _runs(*args)
        frames.append(pd.DataFrame({"recipe": name, "downstream_dataset": dataset, "gmacs_total": c,
                                    "acc1": 1.0 - e, "upstream_dataset": "LAION-2B"}))
    return pd.concat(frames, ignore_index=True)


def test_scheme_auto_is_parametric_below_the_threshold_and_the_bootstrap_above():
    few = cmp.law_draws(*_runs(-0.1, 0.5, 3, 0.02, 1), "ls", n_boot=200)
    many = cmp.law_draws(*_runs(-0.1, 0.5, cmp.PARAMETRIC_BELOW, 0.02, 1), "ls", n_boot=200)
    assert few.scheme == "parametric" and few.spread == 1.0
    n = cmp.PARAMETRIC_BELOW
    assert many.scheme == "runs" and many.spread == pytest.approx(np.sqrt(n / (n - 2)))


def test_parametric_draws_of_a_line_follow_students_t():
    """With 3 runs the slope's draws are t with 1 degree of freedom around the least-squares slope:
    quartiles at +-1 standard error (a normal's are at +-0.67), 90% interval about +-6.3 (heavy tails)."""
    c, e = _runs(-0.1, 0.5, 3, 0.03, 2)
    law = cmp.law_draws(c, e, "ls", n_boot=20000, seed=3)
    x, y = np.log10(c), np.log10(e)
    slope, icpt = np.polyfit(x, y, 1)
    s = np.sqrt(np.sum((y - icpt - slope * x) ** 2) / 1)
    se = s / np.sqrt(np.sum((x - x.mean()) ** 2))
    t = (law.alphas - slope) / se
    assert law.point["alpha"] == pytest.approx(slope)
    assert np.quantile(t, [0.25, 0.75]) == pytest.approx([-1.0, 1.0], abs=0.06)  # scipy.stats.t.ppf(.75, 1) = 1
    assert np.quantile(t, [0.05, 0.95]) == pytest.approx([-6.314, 6.314], rel=0.2)


def test_too_few_runs_says_how_many_and_how_many_are_needed():
    with pytest.raises(FitError, match=r"has 2 run\(s\).*at least 3"):
        cmp.law_draws(*_runs(-0.1, 0.5, 2, 0.02, 1), "ls", label="lr=0.001")


def test_a_steeper_law_wins_far_out_and_the_crossover_interval_holds_the_truth():
    # B starts better (0.4 vs 0.5 at 1e10) but A falls faster: true crossing where
    # log10(0.5) - 0.15 t = log10(0.4) - 0.08 t, t = log10(1.25) / 0.07 decades past 1e10
    truth = 1e10 * 10 ** (np.log10(1.25) / 0.07)
    a = cmp.law_draws(*_runs(-0.15, 0.5, 20, 0.01, 1), "ls", n_boot=500, seed=1)
    b = cmp.law_draws(*_runs(-0.08, 0.4, 20, 0.01, 2), "ls", n_boot=500, seed=2)
    steeper, p = cmp.p_steeper(a, b)
    assert steeper == "a" and p > 0.99
    x = cmp.crossover(a, b)
    assert x.kind == "interval" and x.reason is None and x.after == "a"
    assert x.lo < truth < x.hi and x.lo < x.compute < x.hi
    assert abs(np.log10(x.compute / truth)) < 0.2
    pa = cmp.p_a_better(a, b, [1e10, 1e14])
    assert pa[0] < 0.01 and pa[1] > 0.99


def test_laws_that_do_not_cross_in_the_window_give_null_with_the_reason():
    a = cmp.law_draws(*_runs(-0.10, 0.3, 20, 0.01, 1), "ls", n_boot=300, seed=1)
    b = cmp.law_draws(*_runs(-0.10, 0.6, 20, 0.01, 2), "ls", n_boot=300, seed=2)
    x = cmp.crossover(a, b, names=("fast", "slow"))
    assert x.to_dict() is None and x.kind == "none"
    assert x.reason.startswith("no crossing between") and "fast's law is below throughout" in x.reason


def test_a_crossing_the_runs_cannot_place_is_too_uncertain():
    # nearly parallel laws with a lot of scatter: they cross somewhere, nobody can say where
    a = cmp.law_draws(*_runs(-0.100, 0.5, 10, 0.08, 1), "ls", n_boot=300, seed=1)
    b = cmp.law_draws(*_runs(-0.105, 0.5, 10, 0.08, 2), "ls", n_boot=300, seed=2)
    x = cmp.crossover(a, b)
    assert x.to_dict() is None and x.kind in ("uncertain", "none")
    assert x.reason


def test_identical_recipes_get_independent_draws():
    """The same runs under two names: with independent draws P(A better) is spread around one half
    and p_steeper is not 0 or 1 (paired identical draws would give exactly 0.5 everywhere)."""
    one = _table({"x": (-0.1, 0.5, 15, 0.03, 7)})
    table = pd.concat([one, one.assign(recipe="y")], ignore_index=True)
    (c,), _ = compare_recipes(table, "recipe", "x", "y", method="ls", n_boot=400)
    assert 0.2 < c.p_steeper < 0.8
    ps = [r["p_a_better"] for r in c.at]
    assert any(p != 0.5 for p in ps) and all(0.1 < p < 0.9 for p in ps)
    assert not np.array_equal(c.a.alphas, c.b.alphas)


def test_compare_recipes_json_fields_and_computes():
    table = _table({"fast": (-0.15, 0.5, 20, 0.01, 1), "slow": (-0.08, 0.4, 20, 0.01, 2)})
    (c,), skipped = compare_recipes(table, "recipe", "fast", "slow", method="ls", at=[3e11], n_boot=300)
    d = c.to_dict()
    assert skipped == []
    assert {"downstream_dataset", "steeper", "p_steeper", "p_a_better", "crossover", "crossover_reason",
            "verdict"} <= set(d)
    assert d["downstream_dataset"] == "imagenet1k" and d["steeper"] == "a"
    largest = table["gmacs_total"].max()
    assert [r["where"] for r in d["p_a_better"]] == ["given", "largest trained", "10x largest trained"]
    assert [r["compute"] for r in d["p_a_better"]] == pytest.approx([3e11, largest, 10 * largest])
    assert set(d["crossover"]) == {"compute", "lo", "hi"} and d["crossover_reason"] is None
    assert d["verdict"].startswith("On imagenet1k: fast's error falls faster with compute than slow's (P = 1.00")


def test_a_wide_table_and_a_numeric_recipe_column():
    """A wide table (one metric column per dataset) with lr as the recipe column: '1e-3' matches 0.001."""
    rows = []
    for lr, (alpha, e0, seed) in {0.001: (-0.12, 0.5, 1), 0.002: (-0.08, 0.45, 2)}.items():
        c, e1 = _runs(alpha, e0, 12, 0.02, seed)
        _, e2 = _runs(alpha * 0.8, e0, 12, 0.02, seed + 10)
        rows.append(pd.DataFrame({"gmacs_total": c, "lr": lr, "cifar10": 1 - e1, "cifar100": 1 - e2}))
    wide = pd.concat(rows, ignore_index=True)
    found, _ = compare_recipes(wide, "lr", "1e-3", "2e-3", method="ls", n_boot=200)
    assert sorted(c.group["downstream_dataset"] for c in found) == ["cifar10", "cifar100"]
    assert all(c.names == ("1e-3", "2e-3") and c.steeper == "a" for c in found)


def test_bad_input_is_one_clear_error():
    table = _table({"x": (-0.1, 0.5, 10, 0.02, 1), "y": (-0.1, 0.5, 2, 0.02, 2)})
    with pytest.raises(DataError, match=r"--by column 'nope' is not in the table; valid choices: .*recipe"):
        compare_recipes(table, "nope", "x", "y")
    with pytest.raises(DataError, match=r"--b 'z' is not a value of column 'recipe'; valid choices: x, y"):
        compare_recipes(table, "recipe", "x", "z")
    with pytest.raises(FitError, match=r"recipe=y on imagenet1k has 2 run\(s\).*needs at least 3"):
        compare_recipes(table, "recipe", "x", "y", method="ls")
    with pytest.raises(UserInputError, match=r"--at '0' is not a positive number"):
        compare_recipes(table, "recipe", "x", "y", at=["0"])
    with pytest.raises(UserInputError, match="same rows"):
        compare_recipes(table, "recipe", "x", "x")


def test_the_recipe_column_is_never_a_group():
    table = _table({"x": (-0.1, 0.5, 10, 0.02, 1), "y": (-0.12, 0.5, 10, 0.02, 2)})
    found, _ = compare_recipes(table, "recipe", "x", "y", method="ls", group_by=["downstream_dataset", "recipe"],
                               n_boot=100)
    assert [c.group for c in found] == [{"downstream_dataset": "imagenet1k"}]


def test_a_recipe_with_few_runs_borrows_the_pooled_scatter():
    """3 runs cannot measure their own scatter: their parametric draws use the scatter pooled with the
    other recipe's law (weighted by degrees of freedom), and two such recipes share its draws."""
    few, many = _runs(-0.1, 0.5, 3, 0.03, 1), _runs(-0.12, 0.5, 20, 0.03, 2)
    a, b = cmp.pair_draws(few, many, "ls", n_boot=400, seed=0)
    assert (a.scheme, b.scheme) == ("parametric, pooled scatter", "runs")
    line = lambda runs: np.polyfit(np.log10(runs[0]), np.log10(runs[1]), 1)
    resid = lambda runs: np.log10(runs[1]) - np.polyval(line(runs), np.log10(runs[0]))
    ss = np.sum(resid(few) ** 2) + np.sum(resid(many) ** 2)
    s, dof = pooled_scatter(fit(*few, "ls", n_boot=0), fit(*many, "ls", n_boot=0))
    assert dof == 1 + 18 and s == pytest.approx(np.sqrt(ss / 19))
    a3, b3 = cmp.pair_draws(few, _runs(-0.12, 0.5, 3, 0.03, 3), "ls", n_boot=2000, seed=0)
    spread = lambda law: np.abs(law.alphas - law.point["alpha"])
    assert np.corrcoef(spread(a3), spread(b3))[0, 1] > 0.3  # one common scatter draw per pair


def test_replicate_seeds_are_averaged_before_the_frontier():
    """Two recipes with the same mean law, B's two seeds spread +-40% around it, A's +-2%: fitted to
    every replicate, B's frontier takes its luckier seed and B looks better everywhere; on the seed
    means the two cannot be told apart."""
    from clipscale.laws.recipes import seed_means
    from clipscale.laws.table import ERROR

    c = np.logspace(10, 13, 10)
    mean = 0.5 * (c / 1e10) ** -0.15
    frames = []
    for recipe, spread in (("a", 0.02), ("b", 0.4)):
        for seed, sign in ((0, 1), (1, -1)):
            frames.append(pd.DataFrame({"recipe": recipe, "downstream_dataset": "imagenet1k", "gmacs_total": c,
                                        "acc1": 1 - mean * (1 + sign * spread * np.cos(np.arange(10))),
                                        "arch": [f"m{i}" for i in range(10)], "samples_seen": c / 1e9,
                                        "upstream_dataset": "LAION-2B", "seed": seed}))
    table = pd.concat(frames, ignore_index=True)
    b = table[table["recipe"] == "b"].assign(**{ERROR: lambda t: 1 - t["acc1"]})
    averaged = seed_means(b)
    assert len(averaged) == 10 and np.allclose(np.sort(averaged[ERROR]), np.sort(mean))
    assert len(seed_means(b[b["seed"] == 0])) == 10  # one seed: the rows as they are
    (res,), _ = compare_recipes(table, "recipe", "a", "b", method="frontier", n_boot=300)
    p_a = [r["p_a_better"] for r in res.to_dict()["p_a_better"] if r["where"] == "largest trained"][0]
    assert 0.05 < p_a < 0.95, p_a  # not "b is better" from its luckier seeds
