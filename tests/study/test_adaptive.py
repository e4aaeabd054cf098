"""The live adaptive study (issue 24): [design], units and their costs, design.jsonl, the rounds, resume."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.compute import gmacs_per_sample
from clipscale.design import decide
from clipscale.errors import DataError, UserInputError
from clipscale.study import load_spec, run_study
from clipscale.study import units as U
from clipscale.study.adaptive import Budget, Rounds, chosen_keys
from clipscale.study.store import Store

MODELS = ("ladder-e-xxs", "ladder-e-xs")
LEVELS = (256, 512, 1024)
TOP = float(gmacs_per_sample("ladder-e-xs")) * 1024  # the grid's largest compute, total GMACs
DESIGN = '[design]\nstrategy = "adaptive"\n{target}budget_gmacs = {budget}\n{more}'


def _spec(tiny, *, target=5.0, budget=2.0, more="", models=MODELS, levels_from="cooldown", extra=""):
    target = "" if target is None else f"target_compute = [{target}]\n"
    extra = DESIGN.format(target=target, budget=budget, more=more) + extra
    return tiny(models=models, samples=LEVELS, levels_from=levels_from, extra=extra)


# ---------------------------------------------------------------- [design] in the spec

@pytest.mark.parametrize("more, extra, match", [
    ("colour = 1", "", "unknown key 'colour'"),
    ('strategy = "greedy"', "", "'greedy' is not allowed"),
    ("batch = 0", "", "batch: must be >= 1"),
    ("tolerance = -1.0", "", "tolerance: must be a number >= 0"),
    ('target_model = "ladder-e-s"\ntarget_samples_seen = 100000', "", "not both or neither"),
    ("", "[budget]\nseconds = 60\nelastic = true", "elastic"),
])
def test_bad_design_values_are_one_line_errors(tiny, more, extra, match):
    path = _spec(tiny, more=more, extra=extra)
    if "strategy" in more:  # a second `strategy` key: the table's own
        path.write_text(path.read_text().replace('strategy = "adaptive"\n', "", 1))
    with pytest.raises(UserInputError, match=match) as err:
        load_spec(path)
    assert "\n" not in str(err.value)


def test_adaptive_needs_a_target_a_budget_and_one_point_per_unit(tiny):
    path = _spec(tiny, budget=0.0)
    with pytest.raises(UserInputError, match="needs a budget"):
        load_spec(path)
    path.write_text(path.read_text().replace("target_compute = [5.0]", ""))
    with pytest.raises(UserInputError, match="not both or neither"):
        load_spec(path)
    with pytest.raises(UserInputError, match='needs \\[train\\] levels_from = "runs" or "cooldown"'):
        load_spec(_spec(tiny, levels_from="checkpoints"))
    grid = tiny(extra='[design]\nstrategy = "grid"\nbatch = 2')
    with pytest.raises(UserInputError, match='apply to strategy = "adaptive" only'):
        load_spec(grid)


def test_a_grid_spec_dict_is_unchanged_and_an_adaptive_one_names_its_target(tiny):
    assert "design" not in load_spec(tiny()).to_dict()  # old folders' study.json and plan.json keys still match
    spec = load_spec(_spec(tiny, target=None, more='target_model = "ladder-e-s"\ntarget_samples_seen = 4000'))
    assert spec.to_dict()["design"]["strategy"] == "adaptive"
    assert U.targets(spec) == [pytest.approx(float(gmacs_per_sample("ladder-e-s")) * 4000)]


@pytest.mark.parametrize("kw, words", [
    (dict(target=TOP / 2), ["interpolation", f"{TOP:.3g}"]),
    (dict(budget=0.1), ["below the seed design's cost", "at least 0.586"]),
    (dict(models=("ladder-e-xs",), more="joint = true"), ["one model size", "not identifiable"]),
])
def test_bad_input_exits_2_with_one_line(tiny, capsys, kw, words):
    """The issue's three: interpolation, a budget below the seed design (with the minimum), one model
    size for a joint law; checked when the spec is read, before anything is trained."""
    path = _spec(tiny, **kw)
    assert main(["study", "run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err
    assert not (path.parent / "out" / "runs").exists()


# ---------------------------------------------------------------- units and their costs

def test_a_branch_of_a_trunk_already_reached_costs_its_cool_down_only(tiny):
    spec = load_spec(_spec(tiny))
    pool = U.pool(spec)
    assert len(pool) == len(MODELS) * len(LEVELS) and all(isinstance(u, U.Branch) for u in pool)
    gm = U.Costs.gmacs(MODELS)
    xs = [u for u in pool if u.model == "ladder-e-xs"]
    starts = U.branch_starts(xs[0].run)
    fresh = {c.key: c.cost for c in U.candidates(pool, [], gm)}
    g = float(gmacs_per_sample("ladder-e-xs"))
    assert fresh[xs[0].name] == pytest.approx(g * 256)  # nothing trained: trunk to its start + cool-down
    chosen = [xs[2].name, xs[0].name]  # the longest first, then a branch its trunk already passed
    cost = {c.key: c.cost for c in U.candidates(pool, chosen, gm)}
    assert cost[xs[2].name] == pytest.approx(g * 1024)
    assert cost[xs[0].name] == pytest.approx(g * (256 - starts[256]))  # its cool-down only
    assert cost[xs[1].name] == pytest.approx(g * (512 - starts[512]))  # not chosen: priced as of now
    # what the chosen units were attributed sums to what the trunk and branches train
    assert sum(cost[k] for k in chosen) == pytest.approx(g * (starts[1024] + (1024 - starts[1024]) + (256 - starts[256])))


def test_a_run_costs_all_of_it_when_levels_are_runs(tiny):
    spec = load_spec(_spec(tiny, levels_from="runs"))
    pool = U.pool(spec)
    assert [u.name for u in pool] == [r.name for r in spec.runs()]
    cost = {c.key: c.cost for c in U.candidates(pool, [pool[-1].name], U.Costs.gmacs(MODELS))}
    assert all(cost[u.name] == pytest.approx(float(gmacs_per_sample(u.model)) * u.samples_seen) for u in pool)


# ---------------------------------------------------------------- design.jsonl

def test_design_file_is_whole_and_a_torn_last_line_is_dropped(tmp_path):
    store = Store(tmp_path)
    assert store.read_design() == []
    store.append_design({"round": 0, "chosen": ["a"]})
    store.append_design({"round": 1, "chosen": ["b"]})
    assert [r["round"] for r in store.read_design()] == [0, 1]
    text = store.design_path.read_text()
    store.design_path.write_text(text + '{"round": 2, "cho')  # a copy cut short
    assert [r["round"] for r in store.read_design()] == [0, 1]
    store.design_path.write_text('{"round": 0\n' + text)
    with pytest.raises(DataError, match="line 1 is not JSON"):
        store.read_design()


# ---------------------------------------------------------------- the rounds, with results written by hand

def _error(unit) -> float:
    """A made-up headline error: falls with compute, the small model saturating (a frontier to find)."""
    g = float(gmacs_per_sample(unit.model))
    return min(0.95, 0.2 + 0.35 * (g * unit.samples_seen) ** -0.3 + (0.15 if unit.model == "ladder-e-xxs" and
                                                                     unit.samples_seen > 256 else 0.0))


def _finish(store, unit) -> None:
    """What a worker leaves when a unit is done: its results file (the study point's row)."""
    row = {"downstream_dataset": "embedded/shape", "is_level": True, "acc1": 1 - _error(unit), "task":
           "zeroshot_classification", "run": unit.run.name, "samples_seen": unit.samples_seen}
    store.write_result(unit.name, pd.DataFrame([row]))


def _simulate(spec, *, order=lambda keys: keys, stop_after=None, jobs=2):
    """Drive Rounds as run_local does, finishing the chosen units in flight in `order`, one per poll."""
    store, pool = Store(spec.out), U.pool(spec)
    by_key = {u.name: u for u in pool}
    rounds = Rounds(spec, store, pool, Budget(U.Costs.gmacs(MODELS), spec.design.budget_gmacs),
                    dataset="embedded/shape", kinds=("zeroshot_classification",), jobs=jobs, show=False)
    for step in range(100):
        rounds.poll()
        records = store.read_design()
        if records and records[-1]["phase"] == "stop" or step == stop_after:
            return records
        left = [k for k in chosen_keys(records) if not store.result_path(k).exists()]
        _finish(store, by_key[order(left)[0]])
    raise AssertionError("the design never stopped")


def test_rounds_record_each_decision_before_its_runs_and_the_same_results_give_the_same_design(tiny, tmp_path):
    spec = load_spec(_spec(tiny, budget=1.6))
    records = _simulate(spec)
    assert records[0]["phase"] == "seed" and records[-1]["phase"] == "stop"
    assert [r["round"] for r in records] == list(range(len(records)))
    for r in records[1:]:
        # a decision is taken when a worker is free, on the results in by then; a stop only when none is in flight
        assert len(r["pending"]) < 2 and (r["phase"] != "stop" or not r["pending"])
        assert set(r["seen"]) | set(r["pending"]) == set(chosen_keys(records[:r["round"]]))
    assert records[-1]["spent"] <= records[-1]["budget"] <= 1.6
    # every decision is made again from its own line (and the units chosen before it): same choice
    pool, gm = U.pool(spec), U.Costs.gmacs(MODELS)
    for r in records:
        again = decide(U.candidates(pool, chosen_keys(records[:r["round"]]), gm), r["seen"],
                       target_compute=r["target_compute"], budget=r["budget"], settings=U.settings(spec),
                       pending=r["pending"], round_index=r["round"])
        assert (again.phase, again.chosen) == (r["phase"], r["chosen"])
    # another folder fed the same results makes the same choices
    other = load_spec(_spec(tiny, budget=1.6), out=tmp_path / "other")
    assert [_strip(r) for r in _simulate(other)] == [_strip(r) for r in records]


def test_a_study_stopped_midway_resumes_the_same_decisions(tiny, tmp_path):
    spec = load_spec(_spec(tiny, budget=1.6))
    whole = _simulate(spec)
    cut = load_spec(_spec(tiny, budget=1.6), out=tmp_path / "cut")
    before = _simulate(cut, stop_after=3)
    resumed = _simulate(cut)  # a new driver on the same folder: the records so far are kept
    assert resumed[:len(before)] == before
    assert [_strip(r) for r in resumed] == [_strip(r) for r in whole]


def test_the_report_shows_the_interval_after_each_decision_and_the_runs_never_trained(tiny):
    from clipscale.report._design import design_section
    from clipscale.study.adaptive import design_view

    spec = load_spec(_spec(tiny, budget=1.6))
    records = _simulate(spec)
    shown, units = design_view(spec)
    assert shown == records and len(units) == len(U.pool(spec))
    never = units[units["state"] == "not chosen"]
    assert set(never["run"]) == {u.name for u in U.pool(spec)} - set(chosen_keys(records)) and len(never)
    section, files = design_section(records, units, spec.out_dir / "report")
    assert f"Never trained ({len(never)})" in section and all(k in section for k in never["run"])
    assert section.count("<tr><td>") == len(records) + len(never)  # a row per decision, per run never trained
    assert {f.name for f in files} == {"design_units.csv", "design_rounds.png"}


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "elapsed_s"}


# ---------------------------------------------------------------- a real study, killed and resumed

@pytest.mark.slow
def test_sigkill_a_real_study_and_resume_it(tiny, tmp_path, capsys):
    """`clipscale study run` of a tiny adaptive spec, SIGKILLed once its first run is done: the rerun
    keeps every decision recorded before the kill, trains what they chose, and decides the rest."""
    path = _spec(tiny, budget=0.9)
    path.write_text(path.read_text().replace("jobs = 2", "jobs = 1"))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "clipscale", "study", "run", str(path), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Store(out)
    deadline = time.time() + 120
    while not list((out / "results").glob("*.csv")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)  # its worker dies with it (PR_SET_PDEATHSIG)
    proc.wait()
    before = store.read_design()
    assert before and before[0]["phase"] == "seed" and before[-1]["phase"] != "stop"
    done_before = {p.stem: p.stat().st_mtime_ns for p in (out / "results").glob("*.csv")}
    run_study(load_spec(path), progress=False, report=False)
    after = store.read_design()
    assert after[:len(before)] == before and after[-1]["phase"] == "stop" and len(after) > len(before)
    assert all(store.state(k)[0] == "done" for k in chosen_keys(after))
    assert {k: (out / "results" / f"{k}.csv").stat().st_mtime_ns for k in done_before} == done_before  # not retrained
    assert main(["study", "status", str(path)]) == 0
    shown = capsys.readouterr().out
    assert f"round {after[-1]['round']} (stop" in shown and "not chosen" in shown
