"""Wall-time budgets: parsing, the longest-first schedule, sizing a grid to a budget (issue 10)."""
from __future__ import annotations

import pytest

from clipscale.errors import UserInputError
from clipscale.study import load_spec
from clipscale.study.budget import plan
from clipscale.study.sizing import Plan, makespan, parse_budget, predict, scaled
from clipscale.study.orchestrate import run_with_budget


@pytest.mark.parametrize("text, seconds", [("600", 600), ("600s", 600), ("10m", 600), ("1.5h", 5400), ("2h", 7200)])
def test_budget_forms(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["10 minutes", "-5m", "0", "5d", ""])
def test_bad_budget_names_the_accepted_forms(text):
    with pytest.raises(UserInputError, match="'10m'"):
        parse_budget(text)


def test_makespan_is_longest_first_over_workers():
    assert makespan([5, 4, 3, 3], 2) == 8  # 5+3 | 4+3 (not 5+4 | 3+3 in order, which is 9)
    assert makespan([5, 4, 3, 3], 1) == 15 and makespan([], 2) == 0


SPEEDS = {"ladder-e-xxs": 4000.0, "ladder-e-xs": 1200.0}


def test_plan_fills_the_budget_and_scales_every_level(tiny):
    spec = load_spec(tiny(models=("ladder-e-xxs", "ladder-e-xs"), samples=(256, 512, 1024), levels_from="cooldown"))
    p = plan(spec, 300, speeds=SPEEDS, n_eval_images=100)
    assert p.predicted_s <= 300
    bigger = predict(scaled(spec, p.scale * 1.3), SPEEDS, 100, spec.launch.jobs)[0]
    assert bigger > 300  # the chosen scale is within a 2^(1/16) step (+ rounding) of the largest that fits
    ratios = [b / a for a, b in zip(spec.axes.samples_seen, p.spec.axes.samples_seen)]
    assert max(ratios) / min(ratios) < 1.1 and p.spec.axes.samples_seen[-1] > 1024
    assert set(p.run_s) == {r.name for r in p.spec.runs()}


def test_plan_of_a_faster_machine_trains_more(tiny):
    spec = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 1024), levels_from="cooldown"))
    slow = plan(spec, 120, speeds={"ladder-e-xxs": 1000.0}, n_eval_images=100)
    fast = plan(spec, 120, speeds={"ladder-e-xxs": 2000.0}, n_eval_images=100)
    assert fast.spec.axes.samples_seen[-1] > 1.6 * slow.spec.axes.samples_seen[-1]


def test_budget_too_small_names_the_measured_minimum(tiny):
    spec = load_spec(tiny(models=("ladder-e-xxs", "ladder-e-xs"), samples=(256, 512), levels_from="cooldown"))
    with pytest.raises(UserInputError, match=r"too small .* needs about \d+ s"):
        plan(spec, 5, speeds=SPEEDS, n_eval_images=100)


def test_cli_bad_budget_is_one_line_exit_2(tiny, run_cli):
    out = run_cli("study", "plan", str(tiny()), "--budget", "10 minutes")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "10m" in out.stderr


def test_cli_replay_without_a_budget_or_of_no_run_is_one_line_exit_2(tiny, run_cli, tmp_path):
    out = run_cli("study", "run", str(tiny()), "--replay", str(tmp_path))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "--replay needs a budget" in out.stderr
    out = run_cli("demo", "--out", str(tmp_path / "d"), "--replay", str(tmp_path / "nowhere"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "plan.json not found" in out.stderr


@pytest.mark.parametrize("native, picked", [(False, "fp32"), (True, "bf16")])
def test_planner_picks_bf16_only_where_native_and_faster(tiny, monkeypatch, native, picked):
    import clipscale.study.budget as budget
    import clipscale.train.precision as precision

    spec = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 1024), levels_from="cooldown"))
    spec = spec.replace(train={"precision": "bf16"})
    asked = []

    def fake_measure(models, batch, jobs, threads, precisions):
        asked.append(tuple(precisions))
        return {(m, p): (3000.0 if p == "bf16" else 2000.0) for m in models for p in precisions}, 0.1

    monkeypatch.setattr(budget, "measure", fake_measure)
    monkeypatch.setattr(precision, "detect_bf16", lambda: precision.Bf16Support(100.0, 400.0 if native else 1.0, native))
    p = plan(spec, 120, n_eval_images=100)
    assert p.spec.train.precision == picked and p.precision == picked
    assert asked == [("fp32", "bf16") if native else ("fp32",)]  # bf16 never even measured where emulated
    assert native or "not native" in p.notes[0]


def test_a_plan_round_trips_through_its_dict(tiny):
    """plan.json's record gives back the very Plan that wrote it (the spec is rebuilt from the one
    as written, scaled by the plan's factor)."""
    import json

    spec = load_spec(tiny(models=("ladder-e-xxs", "ladder-e-xs"), samples=(256, 512, 1024), levels_from="cooldown"))
    p = plan(spec, 300, speeds={"ladder-e-xxs": 4000.123, "ladder-e-xs": 1200.987}, n_eval_images=100)
    back = Plan.from_dict(json.loads(json.dumps(p.to_dict())), spec)
    assert back == p and back.to_dict() == p.to_dict()
    assert back.spec.axes.samples_seen == p.spec.axes.samples_seen != spec.axes.samples_seen
    assert p.speeds == {"ladder-e-xxs": 4000.1, "ladder-e-xs": 1201.0}  # kept to 0.1, as stored


def test_a_rerun_reads_the_saved_plan_back(tiny, monkeypatch):
    import clipscale.study.budget as budget

    spec = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 1024), levels_from="cooldown"))
    calls = []
    monkeypatch.setattr(budget, "plan", lambda s, sec: calls.append(1) or plan(s, sec, speeds={"ladder-e-xxs": 2000.0},
                                                                                 n_eval_images=100))
    first = budget.planned(spec, 120)
    again = budget.planned(spec, 120)  # same spec and budget: no new measurement, the same grid
    assert calls == [1] and again.spec.axes.samples_seen == first.spec.axes.samples_seen
    assert budget.saved_plan(spec).axes.samples_seen == first.spec.axes.samples_seen


def test_a_budgeted_run_records_planned_and_observed_speeds(tiny, monkeypatch):
    """summary.json's budget record: the plan, the actual seconds, and the speed each model trained
    at in its runs (read from the runs' done.json), beside the measured one."""
    import json

    import clipscale.study.budget as budget

    spec = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 512), levels_from="cooldown"))
    monkeypatch.setattr(budget, "plan", lambda s, sec: plan(s, sec, speeds={"ladder-e-xxs": 2000.0},
                                                             n_eval_images=64))
    from clipscale.study.store import Store

    writes = []
    write = Store.write_summary
    monkeypatch.setattr(Store, "write_summary", lambda self, s: writes.append(1) or write(self, s))
    outcome, p = run_with_budget(spec, 26, jobs=1, progress=False, report=False)
    assert writes == [1]  # summary.json is written once, budget record included
    facts = json.loads((outcome.out_dir / "summary.json").read_text())["budget"]
    assert facts == outcome.summary.to_dict()["budget"]
    assert facts["predicted_s"] == round(p.predicted_s, 1) and facts["actual_s"] > 0
    assert set(facts["observed_samples_per_s"]) == {"ladder-e-xxs"}
    assert facts["observed_samples_per_s"]["ladder-e-xxs"] > 0


def test_an_elastic_run_chooses_its_largest_level_from_the_time_it_was_given(tiny, monkeypatch):
    """[budget] elastic: the plan gives the run 20x the seconds its grid needs, so its trunk takes the
    largest level allowed (4x the planned one); the results, the status and the record agree on it,
    and every smaller level is the planned one. (A plan only made with a too-slow speed failed on a
    loaded machine: at 200 and then 60 samples/s, a machine busy with other work trained slower.)"""
    import dataclasses
    import json

    import pandas as pd

    import clipscale.study.budget as budget
    from clipscale.study import study_status
    from clipscale.train.branches import TOP_FILE

    spec = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 1024), levels_from="cooldown",
                          extra="[budget]\nelastic = true"))
    def generous(s, sec):
        p = plan(s, sec, speeds={"ladder-e-xxs": 60.0}, n_eval_images=64)
        return dataclasses.replace(p, run_s={name: 20 * v for name, v in p.run_s.items()})

    monkeypatch.setattr(budget, "plan", generous)
    outcome, p = run_with_budget(spec, 40, jobs=1, progress=False, report=False)
    (run,) = p.spec.runs()
    assert run.elastic
    record = json.loads((outcome.out_dir / "runs" / run.name / TOP_FILE).read_text())
    planned = p.spec.axes.samples_seen
    assert record["planned"] == planned[-1] and record["level"] == 4 * planned[-1]
    assert record["seconds_left"] > 0
    seen = sorted(pd.read_csv(outcome.out_dir / "results.csv")["samples_seen"])
    assert seen == [*planned[:-1], record["level"]]
    assert "(largest chosen while training)" in study_status(p.spec)["branches"].iloc[0]


def test_elastic_needs_cooldown_levels_and_is_another_run(tiny):
    with pytest.raises(UserInputError, match=r"\[budget\] elastic needs \[train\] levels_from = \"cooldown\""):
        load_spec(tiny(samples=(256, 512), levels_from="runs", extra="[budget]\nelastic = true"))
    fixed = load_spec(tiny(models=("ladder-e-xxs",), samples=(256, 1024), levels_from="cooldown"))
    (a,), (b,) = fixed.runs(), fixed.replace(budget={"elastic": True}).runs()
    assert b.elastic and not a.elastic and a.name != b.name  # its trunk stops earlier: its own folder


def test_a_replay_trains_the_same_grid_and_largest_levels_bit_for_bit(tiny, tmp_path, monkeypatch):
    """`--replay DIR`: a new folder takes DIR's plan and the largest levels its runs chose while
    training, measures nothing, and gets the same numbers."""
    import json

    import pandas as pd

    import clipscale.study.budget as budget
    from clipscale.study.budget import replay

    path = tiny(models=("ladder-e-xxs",), samples=(256, 1024), levels_from="cooldown",
                extra="[budget]\nelastic = true")
    monkeypatch.setattr(budget, "plan", lambda s, sec: plan(s, sec, speeds={"ladder-e-xxs": 200.0},
                                                             n_eval_images=64))
    first, _ = run_with_budget(load_spec(path, out=tmp_path / "a"), 40, jobs=1, progress=False, report=False)

    def no_measuring(*args):
        raise AssertionError("a replay must not plan again")

    monkeypatch.setattr(budget, "plan", no_measuring)
    spec_b = load_spec(path, out=tmp_path / "b")
    again, p = run_with_budget(spec_b, 40, jobs=1, progress=False, report=False, replay=first.out_dir)
    cols = ["run", "samples_seen", "acc1", "acc5", "gmacs_total"]
    a, b = (pd.read_csv(o.out_dir / "results.csv")[cols].sort_values("samples_seen") for o in (first, again))
    assert a.to_numpy().tolist() == b.to_numpy().tolist()
    (run,) = p.spec.runs()
    assert json.loads((again.out_dir / "runs" / run.name / "top_level.json").read_text())["level"] == a["samples_seen"].max()
    with pytest.raises(UserInputError, match="planned for another spec or budget"):
        replay(load_spec(path, out=tmp_path / "c"), 60, first.out_dir)
    with pytest.raises(UserInputError, match="not found; --replay takes the folder"):
        replay(spec_b, 40, tmp_path / "nowhere")
