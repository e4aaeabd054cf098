"""design.decide: the seed design, budgets, determinism, the records, and bad input."""
from __future__ import annotations

import json

import pytest

from clipscale.design import Candidate, Decision, DesignSettings, decide, seed_cost, seed_design
from clipscale.design.candidates import levels
from clipscale.errors import DataError, NotFoundError, UserInputError

from .world import candidates

POOL_MAX = 1.2e5  # the grid's runs up to this compute are the candidates; the target lies above
TARGET = 4.8e5


def _pool():
    return candidates(max_compute=POOL_MAX)


def _loop(cands, errors, budget, settings=DesignSettings()):
    """Decide, 'train' the chosen runs (their known errors), until the design stops."""
    results, decisions = {}, []
    for r in range(len(cands) + 1):
        d = decide(cands, results, target_compute=TARGET, budget=budget, settings=settings, round_index=r)
        decisions.append(d)
        if not d.chosen:
            return results, decisions
        results.update({k: errors[k] for k in d.chosen})
    raise AssertionError("the design never stopped")


def test_seed_is_the_cheapest_runs_spanning_two_sizes_levels_and_ratios():
    cands, _ = _pool()
    # By hand: costs 1e3 (m1 at 1e3 samples; the twin with more unique data first), 2e3 (m2: a new size),
    # 3e3 (m1 at 3e3 samples: a new level and ratio); three runs.
    assert seed_design(cands) == ["m1-1000-50000", "m2-1000-50000", "m1-3000-50000"]
    assert seed_cost(cands) == pytest.approx(1e3 + 2e3 + 3e3)
    assert seed_design(cands, start=["m1-1000-50000", "m2-1000-50000", "m1-3000-50000"]) == []


def test_seed_keeps_two_ratios_when_sizes_and_levels_share_one():
    # (1, 10), (2, 20), (4, 40) span three sizes and three levels but one samples-per-size ratio.
    cands = [Candidate(f"r{i}", compute=n * d, cost=n * d, size=n, samples=d)
             for i, (n, d) in enumerate([(1, 10), (2, 20), (4, 40), (1, 40)])]
    chosen = seed_design(cands)
    assert levels(c.samples / c.size for c in cands if c.key in chosen) == 2
    assert "r3" in chosen


def test_the_design_stays_within_budget_never_degenerates_and_stops():
    cands, errors = _pool()
    budget = 0.2 * sum(c.cost for c in cands)
    results, decisions = _loop(cands, errors, budget)
    by_key = {c.key: c for c in cands}
    runs = [by_key[k] for k in results]
    assert sum(c.cost for c in runs) <= budget
    assert levels(c.size for c in runs) >= 2 and levels(c.samples / c.size for c in runs) >= 2
    assert decisions[0].phase == "seed" and decisions[-1].phase == "stop"
    assert decisions[-1].stop in ("budget", "no gain")
    assert any(d.phase == "adaptive" for d in decisions)


def test_same_inputs_same_decision_whatever_their_order():
    cands, errors = _pool()
    budget = 0.3 * sum(c.cost for c in cands)
    results = {k: errors[k] for k in seed_design(cands)}
    a = decide(cands, results, target_compute=TARGET, budget=budget, round_index=1)
    b = decide(list(reversed(cands)), dict(reversed(list(results.items()))), target_compute=TARGET, budget=budget,
               round_index=1)
    assert a.phase == "adaptive" and a.chosen
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)


def test_a_decision_is_a_json_record_with_scores_and_reads_back():
    cands, errors = _pool()
    budget = 0.3 * sum(c.cost for c in cands)
    d = decide(cands, {k: errors[k] for k in seed_design(cands)}, target_compute=[TARGET, 2 * TARGET],
               budget=budget, round_index=1)
    data = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert data["round"] == 1 and data["chosen"] == d.chosen and data["plan"][: len(d.chosen)] == d.chosen
    scored = {row["key"]: row for row in data["candidates"]}
    assert set(d.chosen) <= set(scored)
    assert all(0 <= row["p_frontier"] <= 1 and row["cost"] <= budget - data["spent"] for row in scored.values())
    assert len(data["interval_pct"]) == 2 and all(lo < hi for lo, hi in data["interval_pct"])
    assert Decision.from_dict(data).to_dict() == data


def test_repeated_data_is_expected_to_do_worse_than_its_twin_with_more_unique_data():
    cands, errors = _pool()
    d = decide(cands, {k: errors[k] for k in seed_design(cands)}, target_compute=TARGET,
               budget=0.5 * sum(c.cost for c in cands), round_index=1)
    rows = {row["key"]: row for row in d.candidates}
    # 3e4 samples of 2e3 unique ones is 15 epochs: the design's prior discounts it
    assert rows["m2-30000-2000"]["predicted_error"] > rows["m2-30000-50000"]["predicted_error"]
    assert rows["m2-30000-2000"]["p_frontier"] < rows["m2-30000-50000"]["p_frontier"]


def test_pending_runs_count_as_spent_and_are_not_chosen_again():
    cands, errors = _pool()
    budget = 0.3 * sum(c.cost for c in cands)
    results = {k: errors[k] for k in seed_design(cands)}
    first = decide(cands, results, target_compute=TARGET, budget=budget, round_index=1)
    again = decide(cands, results, target_compute=TARGET, budget=budget, pending=first.chosen, round_index=2)
    by_key = {c.key: c for c in cands}
    assert again.spent == pytest.approx(first.spent + sum(by_key[k].cost for k in first.chosen))
    assert not set(again.chosen) & set(first.chosen)


def test_a_tolerance_wider_than_the_interval_stops_the_design():
    cands, errors = _pool()
    results = {k: errors[k] for k in seed_design(cands)}
    d = decide(cands, results, target_compute=TARGET, budget=sum(c.cost for c in cands),
               settings=DesignSettings(tolerance_pct=1000.0), round_index=1)
    assert (d.phase, d.stop, d.chosen) == ("stop", "tolerance", [])


def test_a_target_inside_the_candidates_range_is_interpolation():
    cands, _ = _pool()
    with pytest.raises(UserInputError, match="interpolation"):
        decide(cands, {}, target_compute=POOL_MAX / 2, budget=1e9)


def test_a_budget_below_the_seed_names_the_minimum():
    cands, _ = _pool()
    with pytest.raises(UserInputError, match=r"at least 6000\b"):
        decide(cands, {}, target_compute=TARGET, budget=5000)


def test_a_joint_law_on_one_model_size_is_not_identifiable():
    cands, _ = candidates(max_compute=POOL_MAX, sizes=(4.0,))
    decide(cands, {}, target_compute=TARGET, budget=1e9)  # the frontier law alone is fine
    with pytest.raises(UserInputError, match="not identifiable"):
        decide(cands, {}, target_compute=TARGET, budget=1e9, settings=DesignSettings(joint=True))


@pytest.mark.parametrize("settings, error", [
    (DesignSettings(method="nope"), NotFoundError), (DesignSettings(batch=0), UserInputError),
    (DesignSettings(tolerance_pct=-1.0), UserInputError), (DesignSettings(level=1.5), UserInputError)])
def test_bad_settings_are_refused(settings, error):
    cands, _ = _pool()
    with pytest.raises(error):
        decide(cands, {}, target_compute=TARGET, budget=1e9, settings=settings)


def test_results_must_be_candidates_with_error_fractions():
    cands, _ = _pool()
    with pytest.raises(DataError, match="not a candidate"):
        decide(cands, {"elsewhere": 0.5}, target_compute=TARGET, budget=1e9)
    with pytest.raises(DataError, match="fraction"):
        decide(cands, {cands[0].key: 42.0}, target_compute=TARGET, budget=1e9)
    with pytest.raises(DataError, match="twice"):
        decide(cands + cands[:1], {}, target_compute=TARGET, budget=1e9)
