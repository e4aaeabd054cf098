"""The live adaptive study: train a round, evaluate, refit, choose, until the budget or the tolerance.

`train_adaptive(spec, ...)` runs a study whose [design] strategy is "adaptive". The decision itself is
clipscale.design.decide, a pure function; this module only gathers its inputs (the grid's units as
candidates with their costs, clipscale.study.units; the headline errors of the units trained so far),
appends each decision to design.jsonl before its runs start, and lets the workers train what it chose:
`jobs` long-lived local workers (clipscale.study.launch.run_local; one_run's worker claims the units
chosen in design.jsonl, in the order chosen, and waits for the next decision while none is left),
so a worker pays its start-up and its pre-rendering of the embedded data once.

When decisions are made: as soon as `batch` workers are free (batch = jobs: rounds in lockstep). A
decision sees the results of every unit finished by then; the units still training are `pending`
(their cost is spent). Its record holds what it saw (`seen`, `pending`, `budget`), so it can be made
again anywhere from its line alone. A stop is recorded only when nothing chosen is still training.

Budget: with [budget] seconds, costs are seconds of one worker, from speeds measured here once (kept
in plan.json, so a resumed study prices its units alike). The design's budget is the workers' time
left after measuring, start-up, pre-rendering and the final fits, and each decision's budget is at
most what the clock still allows (`jobs` x the seconds to the deadline, less what the units in flight
still need). Without it, [design] budget_gmacs in total GMACs.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from clipscale.errors import UserInputError
from clipscale.study import units as U
from clipscale.study.store import Store

#: seconds a branch costs besides its steps and evaluation (building the model twice, loading the
#: trunk's checkpoint, writing its own): measured 1-3 s for the ladder-e models on the shared 2-core machine
UNIT_START_S = 2.0
SUMMARY_EVERY_S = 10.0   # seconds between the progress summary lines (not on a terminal)


@dataclass
class Budget:
    """The design's budget in `costs.unit`: a fixed `total`, or with a wall-clock `deadline`
    (time.time()) the least of it and what `jobs` workers can still do by then."""

    costs: U.Costs
    total: float
    jobs: int = 1
    deadline: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # what was measured (seconds budgets)

    def now(self, spent: float, in_flight_left: float) -> float:
        """The budget of a decision taken now: `spent` (cost of every unit chosen so far) plus the
        workers' time left after the units in flight (`in_flight_left`, cost unit)."""
        if self.deadline is None:
            return self.total
        left = self.jobs * (self.deadline - time.time()) - in_flight_left
        return min(self.total, spent + max(0.0, left))


def seconds_budget(spec, seconds: float, jobs: int, threads: int, started: float) -> Budget:
    """A seconds budget: each model's training speed measured here as `jobs` workers will train (or
    read back from plan.json when this spec and budget were measured before)."""
    from clipscale.study.budget import PRERENDER, measure, plan_key
    from clipscale.study.sizing import FIT_REPORT_S, WORKER_START_S, eval_images, eval_seconds

    store, key = Store(spec.out), plan_key(spec, seconds)
    old = store.read_plan()
    if old is not None and old.get("key") == key and "adaptive" in old:
        facts = dict(old["adaptive"], measure_s=0.0)
    else:
        models = sorted(set(spec.axes.model))
        speeds, measure_s = measure(models, max(spec.axes.batch_size), jobs, threads, (spec.train.precision,))
        render = speeds.pop(PRERENDER, None)
        facts = {"speeds_samples_per_s": {m: round(speeds[(m, spec.train.precision)], 1) for m in models},
                 "measure_s": round(measure_s, 1), "eval_images": eval_images(spec),
                 "render_s": 0.0 if spec.train.train_data or not render else round(max(spec.axes.data_size) / render, 1)}
        store.write_plan({"key": key, "adaptive": facts})
    speeds = facts["speeds_samples_per_s"]
    costs = U.Costs("s", {m: 1.0 / v for m, v in speeds.items()},
                    {m: eval_seconds(1, v, facts["eval_images"]) + UNIT_START_S for m, v in speeds.items()})
    overhead = time.time() - started + facts["render_s"] + WORKER_START_S + FIT_REPORT_S
    return Budget(costs, jobs * max(0.0, seconds - overhead), jobs, started + seconds - FIT_REPORT_S, facts)


def train_adaptive(spec, *, dataset: str, kinds, launcher: str, jobs: int, threads: int, progress: bool = True,
                   started: float | None = None) -> list[str]:
    """Run the adaptive design of `spec` to its end in its folder (resuming what design.jsonl holds);
    `dataset`, `kinds`: the headline law's downstream dataset and evaluation kinds (its errors are the
    design's results). Returns the lines that say what it did (design_lines)."""
    from clipscale.study.launch import run_local

    if launcher != "local":
        raise UserInputError(f"an adaptive study runs with the local launcher (its workers wait for each decision), "
                             f"got {launcher!r}; use --launcher local or [design] strategy = \"grid\"")
    started = time.time() if started is None else started
    store = Store(spec.out)
    store.write_spec(spec.to_dict())
    pool = U.pool(spec)
    if spec.budget.seconds:
        budget = seconds_budget(spec, spec.budget.seconds, jobs, threads, started)
    else:
        budget = Budget(U.Costs.gmacs(u.model for u in pool), spec.design.budget_gmacs)
    from clipscale.design import check_design

    check_design(U.candidates(pool, [], budget.costs), U.targets(spec), budget.total, U.settings(spec))
    for key in chosen_keys(store.read_design()):  # a rerun retries the chosen units that failed
        if store.state(key)[0] == "failed":
            store.status_path(key).unlink(missing_ok=True)
    rounds = Rounds(spec, store, pool, budget, dataset=dataset, kinds=tuple(kinds), jobs=jobs, show=progress,
                    started=started)
    rounds.poll()  # the first decision before any worker starts
    run_local(spec, pool, jobs, threads, rounds)
    return design_lines(spec)


def chosen_keys(records: list[dict]) -> list[str]:
    """Every unit the design chose, in the order chosen."""
    return [k for r in records for k in r["chosen"]]


class Rounds:
    """Makes the decisions while the workers train (run_local calls `poll` every half second)."""

    def __init__(self, spec, store: Store, pool, budget: Budget, *, dataset: str, kinds: tuple, jobs: int,
                 show: bool = True, stream=None, started: float | None = None):
        self.spec, self.store, self.pool, self.budget = spec, store, pool, budget
        self.started = time.time() if started is None else started
        self.dataset, self.kinds, self.jobs, self.show = dataset, kinds, jobs, show
        self.stream = stream or sys.stderr
        self.settings, self.targets = U.settings(spec), U.targets(spec)
        self.last_inputs: Any = None
        self.states: dict[str, str] = {}
        self.errors: dict[str, float] = {}
        self.printed = 0.0
        self.stopped = False

    def poll(self) -> None:
        records = self.store.read_design()
        chosen = chosen_keys(records)
        states = {k: self.store.state(k)[0] for k in chosen}
        self._show_changes(records, states)
        if self.stopped or (records and records[-1]["phase"] == "stop"):
            self.stopped = True
            return
        in_flight = [k for k in chosen if states[k] not in ("done", "failed")]
        if in_flight and self.jobs - len(in_flight) < self.settings.batch:
            return
        results = {k: self.error(k) for k in chosen if states[k] == "done"}
        inputs = (tuple(sorted(results)), tuple(in_flight))
        if inputs == self.last_inputs:  # nothing new to decide on
            return
        self.last_inputs = inputs
        self.decide(records, chosen, results, in_flight, [k for k in chosen if states[k] == "failed"])

    def decide(self, records, chosen, results, in_flight, failed) -> None:
        """Call clipscale.design.decide on what is known now; record its choice (or its stop, once
        nothing is in flight)."""
        from clipscale.design import decide

        cands = U.candidates(self.pool, chosen, self.budget.costs)
        cost = {c.key: c.cost for c in cands}
        budget = self.budget.now(sum(cost[k] for k in chosen), sum(self._left(k, cost[k]) for k in in_flight))
        d = decide(cands, results, target_compute=self.targets, budget=budget, settings=self.settings,
                   pending=in_flight + failed, round_index=len(records))
        if d.phase == "stop" and in_flight:
            return  # the runs in flight may change the answer: decide again when they are in
        record = {**d.to_dict(), "seen": dict(sorted(results.items())), "pending": sorted(in_flight + failed),
                  "cost_unit": self.budget.costs.unit, "elapsed_s": round(time.time() - self.started, 1)}
        self.store.append_design(record)
        self._say(decision_line(record, cost))

    def error(self, key: str) -> float:
        """The headline error (fraction) of a trained unit, from its results file."""
        if key not in self.errors:
            self.errors[key] = unit_error(self.store, key, self.dataset, self.kinds)
        return self.errors[key]

    def _left(self, key: str, cost: float) -> float:
        """What an in-flight unit still needs (cost unit): its cost less the seconds it has run."""
        record = self.store.read_status(key) or {}
        if self.budget.costs.unit != "s" or record.get("state") != "running":
            return cost
        return max(0.0, cost - (time.time() - float(record.get("time", time.time()))))

    def _show_changes(self, records, states) -> None:
        for key, state in states.items():
            if self.states.get(key) != state and state in ("running", "done", "failed"):
                why = self.store.state(key)[1] if state == "failed" else ""
                self._say(f"{'start' if state == 'running' else state:<6} {key}" + (f" ({why})" if why else ""))
        self.states = dict(states)
        if states and time.time() - self.printed >= SUMMARY_EVERY_S:
            done = sum(s == "done" for s in states.values())
            going = [k for k, s in states.items() if s == "running"]
            self._say(f"[design round {len(records)}: {done}/{len(states)} chosen runs done] "
                      f"running: {', '.join(going) or '-'}")

    def _say(self, line: str) -> None:
        self.printed = time.time()
        if self.show:
            print(line, file=self.stream, flush=True)


def unit_error(store: Store, key: str, dataset: str, kinds: tuple) -> float:
    """Error (1 - the dataset's default metric, a fraction) of unit `key`'s study point."""
    import pandas as pd

    from clipscale.errors import DataError
    from clipscale.schema import EVAL_KIND_COL, default_metric

    rows = pd.read_csv(store.result_path(key))
    rows = rows[(rows["downstream_dataset"] == dataset) & rows["is_level"].astype(bool)]
    if EVAL_KIND_COL in rows.columns and rows[EVAL_KIND_COL].isin(kinds).any():
        rows = rows[rows[EVAL_KIND_COL].isin(kinds)]
    if rows.empty:
        raise DataError(f"{store.result_path(key)} holds no study point of {dataset}; the design's law is fitted "
                        f"on the headline dataset: add it to [eval] tasks")
    return float(1.0 - rows[default_metric(dataset)].iloc[-1])


def decision_line(record: dict, cost: dict[str, float]) -> str:
    """One line about a decision, for the progress display."""
    unit = "s" if record.get("cost_unit") == "s" else " GMACs"
    head = f"design round {record['round']} ({record['phase']}"
    head += f": {record['stop']})" if record.get("stop") else ")"
    chosen = ", ".join(f"{k} ({cost[k]:.4g}{unit})" for k in record["chosen"])
    line = f"{head}: {('train ' + chosen) if chosen else 'nothing more to train'}; spent {record['spent']:.4g} of " \
           f"{record['budget']:.4g}{unit}"
    return line + (f"; {interval_text(record)}" if interval_text(record) else "")


def interval_text(record: dict) -> str:
    """'90% interval at 6.6e+03 GMACs: 1.2-3.4% (predicted 2.0%)' for each target, '' when none yet."""
    if not record.get("interval_pct"):
        return ""
    parts = []
    for c, (lo, hi), p in zip(record["target_compute"], record["interval_pct"],
                              record.get("predicted_pct") or [math.nan] * len(record["target_compute"])):
        parts.append(f"90% interval at {c:.3g} GMACs: {lo:.2f}-{hi:.2f}%" + (f" (predicted {p:.2f}%)" if p == p else ""))
    return "; ".join(parts)


def design_lines(spec) -> list[str]:
    """What an adaptive study's design did, from its design.jsonl (for the summary's notes and the
    end of `study run`): rounds, runs trained of the candidates, budget spent, why it stopped and the
    interval at the target after its last round."""
    records = Store(spec.out).read_design()
    if not records:
        return ["adaptive design: no decision recorded yet"]
    last = records[-1]
    unit = "worker-seconds" if last.get("cost_unit") == "s" else "total GMACs"
    n_pool = len(U.pool(spec))
    lines = [f"adaptive design: {len(records)} decisions, {len(chosen_keys(records))} of {n_pool} candidate runs "
             f"chosen, {last['spent']:.4g} of {last['budget']:.4g} {unit} spent"
             + (f"; stopped: {last['stop']}" if last.get("stop") else "; not finished")]
    shown = next((r for r in reversed(records) if r.get("interval_pct")), None)
    if shown is not None:
        lines.append(f"  after round {shown['round']}, from {len(shown.get('seen', {}))} runs: {interval_text(shown)}")
    return lines


def status_line(spec) -> str:
    """`study status`'s line about the design: its round, what it chose and spent, its last interval."""
    records = Store(spec.out).read_design()
    if not records:
        return "design: adaptive, no decision yet"
    last = records[-1]
    unit = "s" if last.get("cost_unit") == "s" else " GMACs"
    text = f"design: adaptive, round {last['round']} ({last['phase']}" + (f": {last['stop']})" if last.get("stop") else ")")
    text += f", {len(chosen_keys(records))} runs chosen, {last['spent']:.4g} of {last['budget']:.4g}{unit} spent"
    shown = next((r for r in reversed(records) if r.get("interval_pct")), None)
    return text + (f"; round {shown['round']}: {interval_text(shown)}" if shown else "")


def unit_rows(spec) -> list[dict]:
    """`study status` of an adaptive study: one row per unit (chosen or not) with the state, the round
    it was chosen in and its samples and compute (total GMACs) as attributed."""
    store = Store(spec.out)
    records = store.read_design()
    pool = U.pool(spec)
    rounds = {k: r["round"] for r in records for k in r["chosen"]}
    chosen = chosen_keys(records)
    gm = U.Costs.gmacs(u.model for u in pool)
    spent, reach = U.attributed(pool, chosen, gm)
    rows = []
    for u in pool:
        state, reason = store.state(u.name) if u.name in rounds else ("not chosen", "")
        total = spent.get(u.name, gm.of(u, U.samples_to_train(u, reach)))
        rows.append({"run": u.name, "state": state, "round": rounds.get(u.name), "arch": u.model,
                     "compute_gmacs": gm.per_sample[u.model] * u.samples_seen,
                     "samples_trained": round(total / gm.per_sample[u.model]) if state == "done" else 0,
                     "samples_seen": u.samples_seen, "gmacs_spent": total if state == "done" else 0.0,
                     "gmacs_total": total, "reason": reason, "branches": ""})
    return rows


def design_view(spec):
    """(design.jsonl's records, one row per candidate run as unit_rows gives them): the report's
    design section (clipscale.report)."""
    import pandas as pd

    return Store(spec.out).read_design(), pd.DataFrame(unit_rows(spec))
