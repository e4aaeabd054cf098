"""Wall-time budgets: measure this machine, then size a study's grid so that it ends in time.

A study declares the shape of its grid (models, data sizes, samples-seen levels, a compute band);
`plan(spec, seconds)` measures each model's training speed here, in the configuration the launcher
will use (`jobs` processes of `threads` threads at once, so the cores' contention is in the figure),
then scales every samples-seen level (and the compute band) by one common factor, the largest whose
predicted wall time (longest-first schedule over the workers, evaluations, start-up, fit and
report) fits the budget. Units: seconds of wall time, samples per second, samples seen.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

from clipscale.errors import UserInputError

BUDGET_FORMS = "a number of seconds ('600', '600s'), minutes ('10m', '1.5m') or hours ('2h')"
MEASURE_S = 1.0          # seconds of timed optimizer steps per model and precision (after a warm-up)
PRERENDER = ("prerender", "pairs")  # key of the measured pre-render speed (pairs/s) among the speeds
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


@dataclass(frozen=True)
class Plan:
    """A sized grid: the scaled spec, each run's predicted seconds, and what was measured."""

    spec: object                      # the StudySpec with scaled levels
    budget_s: float
    scale: float                      # factor applied to every samples-seen level
    predicted_s: float                # predicted wall time of the whole study
    run_s: dict[str, float]           # run name -> predicted seconds (training + evaluation)
    speeds: dict[str, float]          # model -> measured training samples/s per worker
    precision: str
    measure_s: float                  # seconds spent measuring
    notes: tuple[str, ...] = field(default=())
    render_s: float = 0.0             # predicted seconds a worker spends pre-rendering the embedded data

    def to_dict(self) -> dict:
        return {"budget_s": self.budget_s, "scale": self.scale, "predicted_s": round(self.predicted_s, 1),
                "run_s": {k: round(v, 1) for k, v in self.run_s.items()},
                "speeds_samples_per_s": {k: round(v, 1) for k, v in self.speeds.items()},
                "precision": self.precision, "measure_s": round(self.measure_s, 1), "notes": list(self.notes),
                "render_s": round(self.render_s, 1)}


def _measure_one(args) -> dict[tuple[str, str], float]:
    """Samples/s of `MEASURE_S` seconds of training steps of each model in each precision, and the
    pre-render speed of the embedded data (pairs/s, key PRERENDER), inside a measuring worker."""
    models, batch, threads, precisions, seconds = args
    import torch

    torch.set_num_threads(threads)
    from clipscale.train.measure import prerender_speed, train_speed

    out = {(m, p): train_speed(m, batch, precision=p, seconds=seconds) for p in precisions for m in models}
    out[PRERENDER] = prerender_speed(models[0])
    return out


def measure(models, batch: int, jobs: int, threads: int, precisions=("fp32",),
            seconds: float | None = None) -> tuple[dict, float]:
    """({(model, precision): samples/s of one worker while `jobs` workers run}, seconds spent):
    `jobs` spawned processes measure the same models at once, so the figure includes the workers'
    contention for the cores and memory bandwidth."""
    import multiprocessing as mp

    t0 = time.time()
    ctx = mp.get_context("spawn")
    with ctx.Pool(jobs) as pool:
        args = (list(models), batch, threads, tuple(precisions), MEASURE_S if seconds is None else seconds)
        out = pool.map(_measure_one, [args] * jobs)
    # The mean over the workers: each was timed while the others ran, so contention is in every figure.
    speeds = {k: sum(o[k] for o in out) / len(out) for k in out[0]}
    return speeds, time.time() - t0


def run_seconds(run, speed: float, n_eval_images: int) -> float:
    """Predicted seconds of one run: samples trained / speed, plus its evaluations."""
    if run.is_trunk:
        c = run.train.cooldown
        trained = (1 - c) * run.levels[-1] + c * sum(run.levels)  # trunk + cool-downs
        points = len(run.levels)
    else:
        trained = run.samples_seen
        points = len(run.levels)
    return trained / speed + eval_seconds(points, speed, n_eval_images)


def eval_seconds(points: int, speed: float, n_eval_images: int) -> float:
    """Predicted seconds of evaluating `points` checkpoints of a model training at `speed` samples/s."""
    return points * (EVAL_POINT_S + n_eval_images / (EVAL_IMAGES_PER_TRAIN_SAMPLE * speed))


def run_deadline(spec, run, started: float) -> float | None:
    """When an elastic run's training must end (a time.time() value): its start plus the seconds the
    study's plan.json gives it, plus the pre-rendering if this worker has not rendered the embedded
    data yet, minus its predicted evaluations; None when no plan names the run (no budget)."""
    import json

    path = spec.out_dir / PLAN_FILE
    if not path.exists():
        return None
    p = json.loads(path.read_text())["plan"]
    seconds, speed = p["run_s"].get(run.name), p["speeds_samples_per_s"].get(run.model)
    if seconds is None or not speed:
        return None
    from clipscale.train import batches

    render = p.get("render_s", 0.0) if not batches.has_rendering() and not spec.train.train_data else 0.0
    return started + seconds + render - eval_seconds(len(run.levels), speed, _eval_images(spec))


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


def plan(spec, seconds: float, *, speeds: dict[str, float] | None = None, measure_s: float = 0.0,
         n_eval_images: int | None = None) -> Plan:
    """Size `spec` to end within `seconds` of wall time (measuring speeds unless given).

    Raises UserInputError when even the grid at its smallest useful size (every level at least
    two batches, every model kept) does not fit, naming the minimum measured.
    """
    jobs, threads = spec.launch.jobs, spec.launch.threads
    models = sorted(set(spec.axes.model))
    notes: list[str] = []
    render_rate = None
    if speeds is None:
        spec, speeds, measure_s, notes, render_rate = _measure_precisions(spec, models, jobs, threads)
    render_s = 0.0 if spec.train.train_data or not render_rate else max(spec.axes.data_size) / render_rate
    if n_eval_images is None:
        n_eval_images = _eval_images(spec)
    available = seconds - measure_s
    n_models = len({r.model for r in spec.runs()})
    # The smallest useful grid: the smallest factor (on a step) that keeps every model of the grid.
    k = SCALE_STEPS_PER_OCTAVE
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
    return Plan(best, seconds, lo, total + measure_s, per_run, speeds, spec.train.precision, measure_s,
                tuple(notes), render_s)


def _measure_precisions(spec, models, jobs: int, threads: int):
    """(spec with the faster precision, speeds, seconds spent, notes). bf16 is measured, and may be
    picked, only where the CPU computes it natively (clipscale.train.precision: a measured bf16 vs
    fp32 matmul); elsewhere, even a spec asking for bf16 is run in fp32, and a note says why."""
    from clipscale.train.precision import detect_bf16

    t0 = time.time()
    support = detect_bf16()
    precisions = ("fp32", "bf16") if support.native else ("fp32",)
    speeds, _ = measure(models, max(spec.axes.batch_size), jobs, threads, precisions)
    render_rate = speeds.pop(PRERENDER, None)
    both = {p: {m: speeds[(m, p)] for m in models} for p in precisions}
    total = {p: sum(1 / v for v in both[p].values()) for p in both}  # seconds per sample of every model
    best = min(total, key=total.get)
    if not support.native:
        note = (f"bf16 is not native on this CPU (bf16 matmul {support.bf16_gflops:.0f} vs fp32 "
                f"{support.fp32_gflops:.0f} GFLOP/s): fp32, bf16 not measured")
    else:
        note = f"precision {best}: measured faster than {'fp32' if best == 'bf16' else 'bf16'} on this CPU"
    return spec.replace(train={"precision": best}), both[best], time.time() - t0, [note], render_rate


def _eval_images(spec) -> int:
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


PLAN_FILE = "plan.json"


def _plan_key(spec, seconds: float) -> dict:
    """What plan.json is keyed by, as stored (lists, not tuples): the spec and the budget."""
    import json

    return json.loads(json.dumps({"spec": spec.to_dict(), "budget_s": seconds}))


def planned(spec, seconds: float, *, replan: bool = False) -> Plan:
    """The plan of `spec` in its output folder: read back from plan.json when the same spec and
    budget were planned there before (a rerun resumes the same grid), else measured and written."""
    import json

    from clipscale import _io

    path = spec.out_dir / PLAN_FILE
    key = _plan_key(spec, seconds)
    if path.exists() and not replan:
        old = json.loads(path.read_text())
        if old.get("key") == key:
            p = old["plan"]
            return Plan(scaled(spec, p["scale"]).replace(train={"precision": p["precision"]}), seconds, p["scale"],
                        p["predicted_s"], p["run_s"], p["speeds_samples_per_s"], p["precision"], 0.0,
                        tuple(p["notes"]), p.get("render_s", 0.0))
    result = plan(spec, seconds)
    _io.atomic_write_json(path, {"key": key, "plan": result.to_dict()})
    return result


def replay(spec, seconds: float, source) -> int:
    """Copy the choices of an earlier budgeted run of `spec` in folder `source` (its plan.json and
    its elastic runs' top_level.json) into `spec`'s folder, so that running it there trains the same
    grid with the same largest levels: the same numbers, bit for bit, on the same machine kind.
    Returns how many largest levels were copied. UserInputError when `source` holds no plan of this
    spec and budget, or `spec`'s folder was already planned otherwise."""
    import json
    from pathlib import Path

    from clipscale import _io
    from clipscale.train.branches import TOP_FILE

    src, path = Path(source), Path(source) / PLAN_FILE
    if not path.exists():
        raise UserInputError(f"{path} not found; --replay takes the folder of an earlier budgeted run "
                             f"of the same spec")
    old = json.loads(path.read_text())
    key = _plan_key(spec, seconds)
    theirs = {**old["key"], "spec": {**old["key"]["spec"], "out": key["spec"]["out"]}}  # only the folder may differ
    if theirs != key:
        raise UserInputError(f"{src} was planned for another spec or budget; replay it with the same "
                             f"spec (or preset) and --budget as that run")
    mine = spec.out_dir / PLAN_FILE
    if mine.exists() and json.loads(mine.read_text()).get("plan") != old["plan"]:
        raise UserInputError(f"{spec.out_dir} already has its own plan; replay into a new folder (--out)")
    _io.atomic_write_json(mine, {"key": key, "plan": old["plan"]})
    tops = sorted(src.glob(f"runs/*/{TOP_FILE}"))
    for top in tops:
        dest = spec.out_dir / "runs" / top.parent.name / TOP_FILE
        dest.parent.mkdir(parents=True, exist_ok=True)
        _io.atomic_write_text(dest, top.read_text())
    return len(tops)


def saved_plan(spec):
    """The spec as its folder's plan.json sized it (for `study status` and `study report` of a
    budgeted study), or `spec` unchanged when it was never planned."""
    import json

    path = spec.out_dir / PLAN_FILE
    if not path.exists():
        return spec
    old = json.loads(path.read_text())
    if old.get("key", {}).get("spec") != _plan_key(spec, 0)["spec"]:
        return spec
    return scaled(spec, old["plan"]["scale"]).replace(train={"precision": old["plan"]["precision"]})


def observed_speeds(spec) -> dict[str, float]:
    """Model -> samples/s the study's finished runs trained at (mean over its runs; a cool-down run's
    trunk), read from each run's done.json: what the measured speeds predicted."""
    import json

    from clipscale.study.store import Store

    store, seen = Store(spec.out), {}
    for run in spec.runs():
        root = store.run_dir(run.name)
        done = root / "trunk" / "done.json" if run.is_trunk else root / "done.json"
        if done.exists():
            seen.setdefault(run.model, []).append(float(json.loads(done.read_text()).get("samples_per_s") or 0))
    return {m: round(sum(v) / len(v), 1) for m, v in seen.items() if all(v)}


def elastic_choices(spec) -> dict[str, dict]:
    """Model -> {planned, level} of the study's elastic runs (the largest level each chose while
    training, clipscale.train.branches), read from their top_level.json."""
    import json

    from clipscale.study.store import Store
    from clipscale.train.branches import TOP_FILE

    store, out = Store(spec.out), {}
    for run in spec.runs():
        path = store.run_dir(run.name) / TOP_FILE
        if run.elastic and path.exists():
            record = json.loads(path.read_text())
            out[run.model] = {"planned": record["planned"], "level": record["level"]}
    return out
