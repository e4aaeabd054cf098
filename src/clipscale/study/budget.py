"""Wall-time budgets: measure this machine, size the grid (clipscale.study.sizing), and keep the plan.

A study declares the shape of its grid (models, data sizes, samples-seen levels, a compute band);
`plan(spec, seconds)` measures each model's training speed here, in the configuration the launcher
will use (`jobs` processes of `threads` threads at once, so the cores' contention is in the figure),
then sizes the grid to the budget. The plan is kept in the study folder's plan.json (`planned`
reads it back on a rerun, `replay` copies it into another folder), and what the runs did against it
is read back from their folders (`observed_speeds`, `elastic_choices`).
Units: seconds of wall time, samples per second, samples seen.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from clipscale.errors import UserInputError
from clipscale.study.sizing import Plan, eval_images, eval_seconds, read_back, scaled, size
from clipscale.study.store import Store

MEASURE_S = 1.0          # seconds of timed optimizer steps per model and precision (after a warm-up)
PRERENDER = ("prerender", "pairs")  # key of the measured pre-render speed (pairs/s) among the speeds


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


def plan(spec, seconds: float, *, speeds: dict[str, float] | None = None, measure_s: float = 0.0,
         n_eval_images: int | None = None) -> Plan:
    """Size `spec` to end within `seconds` of wall time, measuring the speeds unless given
    (clipscale.study.sizing.size; UserInputError when even its smallest useful grid does not fit)."""
    notes: list[str] = []
    render_rate = None
    if speeds is None:
        models = sorted(set(spec.axes.model))
        spec, speeds, measure_s, notes, render_rate = _measure_precisions(spec, models, spec.launch.jobs,
                                                                           spec.launch.threads)
    render_s = 0.0 if spec.train.train_data or not render_rate else max(spec.axes.data_size) / render_rate
    images = eval_images(spec) if n_eval_images is None else n_eval_images
    return size(spec, seconds, speeds, images, measure_s=measure_s, render_s=render_s, notes=notes)


def _measure_precisions(spec, models, jobs: int, threads: int):
    """(spec with the faster precision, speeds, seconds spent, notes, pre-render pairs/s). bf16 is
    measured, and may be picked, only where the CPU computes it natively (clipscale.train.precision:
    a measured bf16 vs fp32 matmul); elsewhere, even a spec asking for bf16 is run in fp32, and a
    note says why."""
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


# ---------------------------------------------------------------- the plan in the study folder

def plan_key(spec, seconds: float) -> dict:
    """What plan.json is keyed by, as stored (lists, not tuples): the spec and the budget."""
    return json.loads(json.dumps({"spec": spec.to_dict(), "budget_s": seconds}))


def planned(spec, seconds: float, *, replan: bool = False) -> Plan:
    """The plan of `spec` in its output folder: read back from plan.json when the same spec and
    budget were planned there before (a rerun resumes the same grid), else measured and written."""
    store, key = Store(spec.out), plan_key(spec, seconds)
    old = store.read_plan()
    if old is not None and not replan and old.get("key") == key:
        return read_back(Plan.from_dict(old["plan"], spec))
    result = plan(spec, seconds)
    store.write_plan({"key": key, "plan": result.to_dict()})
    return result


def replay(spec, seconds: float, source) -> int:
    """Copy the choices of an earlier budgeted run of `spec` in folder `source` (its plan.json and
    its elastic runs' top_level.json) into `spec`'s folder, so that running it there trains the same
    grid with the same largest levels: the same numbers, bit for bit, on the same machine kind.
    Returns how many largest levels were copied. UserInputError when `source` holds no plan of this
    spec and budget, or `spec`'s folder was already planned otherwise."""
    from clipscale import _io
    from clipscale.train.branches import TOP_FILE

    src, mine = Store(source), Store(spec.out)
    old = src.read_plan()
    if old is None:
        raise UserInputError(f"{src.plan_path} not found; --replay takes the folder of an earlier budgeted run "
                             f"of the same spec")
    key = plan_key(spec, seconds)
    theirs = {**old["key"], "spec": {**old["key"]["spec"], "out": key["spec"]["out"]}}  # only the folder may differ
    if theirs != key:
        raise UserInputError(f"{Path(source)} was planned for another spec or budget; replay it with the same "
                             f"spec (or preset) and --budget as that run")
    ours = mine.read_plan()
    if ours is not None and ours.get("plan") != old["plan"]:
        raise UserInputError(f"{spec.out_dir} already has its own plan; replay into a new folder (--out)")
    mine.write_plan({"key": key, "plan": old["plan"]})
    tops = sorted(src.runs_dir.glob(f"*/{TOP_FILE}"))
    for top in tops:
        dest = mine.run_dir(top.parent.name) / TOP_FILE
        dest.parent.mkdir(parents=True, exist_ok=True)
        _io.atomic_write_text(dest, top.read_text())
    return len(tops)


def saved_plan(spec):
    """The spec as its folder's plan.json sized it (for `study status` and `study report` of a
    budgeted study), or `spec` unchanged when it was never planned."""
    old = Store(spec.out).read_plan()
    if old is None or "plan" not in old or old.get("key", {}).get("spec") != plan_key(spec, 0)["spec"]:
        return spec  # never planned, or an adaptive study's measured speeds (its grid is never scaled)
    return scaled(spec, old["plan"]["scale"]).replace(train={"precision": old["plan"]["precision"]})


def run_deadline(spec, run, started: float) -> float | None:
    """When an elastic run's training must end (a time.time() value): its start plus the seconds the
    study's plan.json gives it, plus the pre-rendering if this worker has not rendered the embedded
    data yet, minus its predicted evaluations; None when no plan names the run (no budget)."""
    record = Store(spec.out).read_plan()
    if record is None:
        return None
    p = record["plan"]
    seconds, speed = p["run_s"].get(run.name), p["speeds_samples_per_s"].get(run.model)
    if seconds is None or not speed:
        return None
    from clipscale.train import batches

    render = p.get("render_s", 0.0) if not batches.has_rendering() and not spec.train.train_data else 0.0
    return started + seconds + render - eval_seconds(len(run.levels), speed, eval_images(spec))


# ---------------------------------------------------------------- what the runs did against the plan

def observed_speeds(spec) -> dict[str, float]:
    """Model -> samples/s the study's finished runs trained at (mean over its runs; a cool-down run's
    trunk), read from each run's done.json: what the measured speeds predicted."""
    from clipscale.train.branches import trunk_dir
    from clipscale.train.run import RunFolder

    store, seen = Store(spec.out), {}
    for run in spec.runs():
        root = store.run_dir(run.name)
        done = RunFolder(trunk_dir(root) if run.is_trunk else root).done_path
        if done.exists():
            seen.setdefault(run.model, []).append(float(json.loads(done.read_text()).get("samples_per_s") or 0))
    return {m: round(sum(v) / len(v), 1) for m, v in seen.items() if all(v)}


def elastic_choices(spec) -> dict[str, dict]:
    """Model -> {planned, level} of the study's elastic runs (the largest level each chose while
    training, clipscale.train.branches), read from their top_level.json."""
    from clipscale.train.branches import TOP_FILE

    store, out = Store(spec.out), {}
    for run in spec.runs():
        path = store.run_dir(run.name) / TOP_FILE
        if run.elastic and path.exists():
            record = json.loads(path.read_text())
            out[run.model] = {"planned": record["planned"], "level": record["level"]}
    return out


def budget_facts(plan: Plan, spec, actual_s: float):
    """summary.json's budget record of a study sized by `plan` (`spec`: the sized spec it ran):
    the plan, the wall seconds it took in all (`actual_s`, measuring included), and what its runs
    did (observed speeds, elastic choices)."""
    from clipscale.study.summary import BudgetFacts

    return BudgetFacts(**plan.to_dict(), actual_s=round(actual_s, 1), n_runs=len(spec.runs()),
                       samples_seen_levels=list(spec.axes.samples_seen), observed_samples_per_s=observed_speeds(spec),
                       elastic_top=elastic_choices(spec))
