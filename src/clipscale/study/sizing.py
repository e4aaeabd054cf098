"""Sizing a study's grid to a wall-time budget: the pure maths (no measuring, no files).

Given each model's measured training speed, `size(spec, seconds, speeds, ...)` scales every
samples-seen level (and the compute band) by one common factor, the largest whose predicted wall
time (longest-first schedule over the workers, evaluations, start-up, fit and report) fits the
budget, and returns a `Plan`. clipscale.study.budget measures the speeds and keeps the plan in the
study folder. Units: seconds of wall time, samples per second, samples seen.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from clipscale.errors import UserInputError

BUDGET_FORMS = "a number of seconds ('600', '600s'), minutes ('10m', '1.5m') or hours ('2h')"
FIT_REPORT_S = 10.0      # merge, fits (bootstrap), backtest and report: 6.5-8.2 s in three demos on 2 cores
WORKER_START_S = 8.0     # a worker's `import open_clip` and first model (6-12 s on these CPUs)
EVAL_IMAGES_PER_TRAIN_SAMPLE = 4.0  # an eval image (forward, no grad) costs ~1/4 of a train sample
EVAL_POINT_S = 0.2       # per evaluated checkpoint besides its images (loading it); 1 s over-predicted the
                         # demo's evaluations 2-7x (6 checkpoints of 4,800 images: 1.0-5.1 s measured)
# Scale factors are rounded down to a step of 2^(1/16) (4.4%): a machine measured a little faster or
# slower on a second try mostly gets the same grid. Steps of 2^(1/8) left up to 9% of the budget
# unused (a demo planned 556 s of 600 and ended at 533 s).
SCALE_STEPS_PER_OCTAVE = 16


def parse_budget(text: str | float | int) -> float:
    """Seconds from '600', '600s', '10m', '1.5h'; UserInputError naming the accepted forms."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise UserInputError(f"budget {text!r} is not a positive duration; use {BUDGET_FORMS}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _tenth(v: float) -> float:
    return round(v, 1)


@dataclass(frozen=True)
class Plan:
    """A sized grid: the scaled spec, each run's predicted seconds, and what was measured. Seconds and
    speeds are kept to 0.1 (as plan.json stores them), so a plan read back equals the one written."""

    spec: Any                         # the StudySpec with scaled levels (and the measured precision)
    budget_s: float
    scale: float                      # factor applied to every samples-seen level
    predicted_s: float                # predicted wall time of the whole study (measuring included)
    run_s: dict[str, float]           # run name -> predicted seconds (training + evaluation)
    speeds: dict[str, float]          # model -> measured training samples/s per worker
    precision: str
    measure_s: float                  # seconds spent measuring (0 when read back: nothing measured then)
    notes: tuple[str, ...] = field(default=())
    render_s: float = 0.0             # predicted seconds a worker spends pre-rendering the embedded data

    def to_dict(self) -> dict[str, Any]:
        """plan.json's "plan" record (the spec is its key's, not repeated here)."""
        return {"budget_s": self.budget_s, "scale": self.scale, "predicted_s": self.predicted_s,
                "run_s": dict(self.run_s), "speeds_samples_per_s": dict(self.speeds), "precision": self.precision,
                "measure_s": self.measure_s, "notes": list(self.notes), "render_s": self.render_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any], spec) -> "Plan":
        """The plan `to_dict` wrote, for `spec` as written (before scaling: the plan scales it)."""
        return cls(scaled(spec, data["scale"]).replace(train={"precision": data["precision"]}), data["budget_s"],
                   data["scale"], data["predicted_s"], dict(data["run_s"]), dict(data["speeds_samples_per_s"]),
                   data["precision"], data["measure_s"], tuple(data["notes"]), data.get("render_s", 0.0))

    def planned_from_start_s(self) -> float:
        """Seconds the plan gives the study from the end of its measuring to the end."""
        return self.predicted_s - self.measure_s


def run_seconds(run, speed: float, n_eval_images: int) -> float:
    """Predicted seconds of one run: samples trained / speed, plus its evaluations."""
    if run.is_trunk:
        c = run.train.cooldown
        trained = (1 - c) * run.levels[-1] + c * sum(run.levels)  # trunk + cool-downs
    else:
        trained = run.samples_seen
    return trained / speed + eval_seconds(len(run.levels), speed, n_eval_images)


def eval_seconds(points: int, speed: float, n_eval_images: int) -> float:
    """Predicted seconds of evaluating `points` checkpoints of a model training at `speed` samples/s."""
    return points * (EVAL_POINT_S + n_eval_images / (EVAL_IMAGES_PER_TRAIN_SAMPLE * speed))


def makespan(seconds: list[float], jobs: int) -> float:
    """Wall time of jobs run longest first on `jobs` workers (each takes the next when free)."""
    loads = [0.0] * max(1, jobs)
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads) if seconds else 0.0


def scaled(spec, factor: float):
    """The spec with every samples-seen level and the compute band times `factor` (whole batches)."""
    a = spec.axes
    batch = max(a.batch_size)
    levels = sorted({max(2 * batch, int(round(s * factor / batch)) * batch) for s in a.samples_seen})
    return spec.replace(axes={"samples_seen": tuple(levels), "min_gmacs_total": a.min_gmacs_total * factor,
                              "max_gmacs_total": a.max_gmacs_total * factor})


def predict(spec, speeds: dict[str, float], n_eval_images: int, jobs: int,
            render_s: float = 0.0) -> tuple[float, dict[str, float]]:
    """(predicted wall seconds, {run: seconds}) of `spec` at the measured speeds; `render_s`: each
    worker's one pre-rendering of the embedded data, before its first run."""
    per_run = {r.name: run_seconds(r, speeds[r.model], n_eval_images) for r in spec.runs()}
    return makespan(list(per_run.values()), jobs) + render_s + WORKER_START_S + FIT_REPORT_S, per_run


def size(spec, seconds: float, speeds: dict[str, float], n_eval_images: int, *, measure_s: float = 0.0,
         render_s: float = 0.0, notes=()) -> Plan:
    """The Plan of `spec` for `seconds` of wall time at the measured `speeds` (samples/s per model),
    after `measure_s` seconds spent measuring them. Raises UserInputError when even the grid at its
    smallest useful size (every level at least two batches, every model kept) does not fit, naming
    the minimum measured."""
    jobs = spec.launch.jobs
    available = seconds - measure_s
    n_models = len({r.model for r in spec.runs()})
    k = SCALE_STEPS_PER_OCTAVE
    # The smallest useful grid: the smallest factor (on a step) that keeps every model of the grid.
    lo = next((2 ** (i / k) for i in range(-10 * k, 1) if len({r.model for r in scaled(spec, 2 ** (i / k)).runs()})
               == n_models), 1.0)
    hi = 1e3
    fits = lambda f: predict(scaled(spec, f), speeds, n_eval_images, jobs, render_s)[0] <= available  # noqa: E731
    if not fits(lo):
        need = predict(scaled(spec, lo), speeds, n_eval_images, jobs, render_s)[0] + measure_s
        raise UserInputError(f"a budget of {seconds:.0f} s is too small for this grid: its smallest useful size "
                             f"needs about {need:.0f} s on this machine (measured); raise --budget to at least "
                             f"{math.ceil(need / 60)}m")
    for _ in range(40):  # bisection on the log of the factor
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    lo = 2 ** (math.floor(k * math.log2(lo)) / k)  # down to a step (SCALE_STEPS_PER_OCTAVE)
    best = scaled(spec, lo)
    total, per_run = predict(best, speeds, n_eval_images, jobs, render_s)
    return Plan(best, seconds, lo, _tenth(total + measure_s), {r: _tenth(v) for r, v in per_run.items()},
                {m: _tenth(v) for m, v in speeds.items()}, spec.train.precision, _tenth(measure_s), tuple(notes),
                _tenth(render_s))


def eval_images(spec) -> int:
    """Test images evaluated per study point (one feature pass per image family)."""
    if spec.eval.limit:
        return spec.eval.limit * max(1, len(spec.eval.tasks))
    from clipscale import evaluate as ev

    names = list(spec.eval.tasks) or list(ev.DEFAULT_EMBEDDED_TASKS)
    return sum(ev.get_task(n).n_test for n in names) if all(hasattr(ev.get_task(n), "n_test") for n in names) \
        else 1000 * len(names)


def plan_lines(p: Plan) -> list[str]:
    """What `clipscale study plan` prints: speeds, the runs that fit and their cost, the total."""
    from clipscale.study.progress import fmt_s

    lines = [f"measured in {p.measure_s:.0f} s ({p.spec.launch.jobs} workers x {p.spec.launch.threads} thread(s), "
             f"{p.precision}): " + ", ".join(f"{m} {v:,.0f} samples/s" for m, v in p.speeds.items()),
             f"samples-seen levels x{p.scale:.3g}: {', '.join(str(s) for s in p.spec.axes.samples_seen)}"]
    if p.render_s:
        lines.append(f"pre-rendering the embedded data: {fmt_s(p.render_s)} per worker (once, before its first run)")
    for run in sorted(p.spec.runs(), key=lambda r: -p.run_s[r.name]):
        lv = ",".join(str(x) for x in run.levels)
        lines.append(f"  {fmt_s(p.run_s[run.name]):>7}  {run.name}  (levels {lv})")
    if any(r.elastic for r in p.spec.runs()):
        lines.append("elastic: each trunk chooses its largest level while training, from its own measured speed, "
                     "to end when planned (the largest levels listed are the planned ones)")
    lines.append(f"{len(p.run_s)} runs; predicted {fmt_s(p.predicted_s)} of the {fmt_s(p.budget_s)} budget "
                 f"(longest first on {p.spec.launch.jobs} workers, with start-up, fits and report)")
    return lines


def read_back(plan: Plan) -> Plan:
    """`plan` as a rerun of the study sees it: nothing was measured in this start."""
    return dataclasses.replace(plan, measure_s=0.0)
