"""One run of a study, start to finish: train (or resume), evaluate its checkpoints, store its rows.

Every launcher (local processes, torchrun, SLURM through submitit) ends up calling `execute`.
A run that fails records its reason in status/<run>.json and raises; the launcher goes on.
"""
from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from clipscale.compute import gmacs_per_sample
from clipscale.errors import UserInputError
from clipscale.schema import SEED_COL, run_upstream_dataset
from clipscale.study.spec import Run, StudySpec, spec_from_dict
from clipscale.study.store import Store
from clipscale.study.units import Branch
from clipscale.train.run import RunFolder


class RunBusy(UserInputError):
    """Another process holds the run's lock (a second `study run` on the same folder)."""


def load_study(study_dir: str | Path) -> StudySpec:
    """The spec a study folder was last run with (its study.json)."""
    store = Store(study_dir)
    raw = store.read_spec()
    if raw is None:
        raise UserInputError(f"{store.spec_path} not found; start the study with `clipscale study run SPEC`")
    return spec_from_dict(raw, where=str(store.spec_path))


def find_run(spec: StudySpec, name: str):
    """The run (or, in an adaptive study with cool-down levels, the branch) called `name`."""
    runs = {r.name: r for r in _units(spec)}
    if name not in runs:
        from clipscale.errors import unknown

        raise unknown("run", name, runs, fix="see `clipscale study status SPEC`")
    return runs[name]


def _units(spec: StudySpec) -> list:
    """What the workers of `spec` train: its runs, or an adaptive study's units (clipscale.study.units)."""
    if spec.design.strategy == "adaptive":
        from clipscale.study.units import pool

        return pool(spec)
    return spec.runs()


def execute(spec: StudySpec, run, threads: int = 1) -> Path:
    """Train, evaluate and store one run (or one Branch of an adaptive study: clipscale.study.units);
    returns its results file. Skips a run already stored.

    Under torchrun (WORLD_SIZE > 1) every rank trains; rank 0 alone locks, evaluates and records.
    """
    rank = int(os.environ.get("RANK", "0"))
    store = Store(spec.out)
    folder = store.run_dir(run.run.name if isinstance(run, Branch) else run.name)  # a branch lives in its trunk's
    if rank != 0:
        _train(spec, run, folder, threads, time.time())
        return store.result_path(run.name)
    with store.run_lock(run.name) as mine:
        if not mine:
            raise RunBusy(f"run {run.name} is already being trained by another process; "
                          "wait for it or stop that process")
        if store.result_path(run.name).exists():
            return store.result_path(run.name)
        start, cpu = time.time(), time.process_time()
        store.mark(run.name, "running")
        try:
            _train(spec, run, folder, threads, start)
            rows = evaluate_checkpoints(spec, run, folder)
            path = store.write_result(run.name, rows)
        except BaseException as exc:
            reason = f"{type(exc).__name__}: {exc}".strip()
            if isinstance(exc, Exception):
                store.mark(run.name, "failed", reason=reason.splitlines()[0][:500],
                           traceback=traceback.format_exc()[-4000:])
            raise
        # cpu_s does not depend on how busy the machine was: the cost figure for planning grids.
        store.mark(run.name, "done", wall_s=round(time.time() - start, 2),
                   cpu_s=round(time.process_time() - cpu, 2), threads=threads)
        return path


def work(spec: StudySpec, threads: int = 1) -> int:
    """Claim and execute runs of `spec` (longest first) until none is left; returns how many ran.

    Several workers may call this at once: a run's lock decides who trains it. Runs that failed
    during this study invocation are not retried here (the next `study run` retries them).
    """
    if spec.design.strategy == "adaptive":
        return _work_chosen(spec, threads)
    store = Store(spec.out)
    runs = sorted(spec.runs(), key=lambda r: gmacs_per_sample(r.model) * r.samples_seen, reverse=True)
    n = 0
    while True:
        for run in runs:
            if store.state(run.name)[0] not in ("pending", "interrupted"):
                continue
            try:
                execute(spec, run, threads)
            except RunBusy:
                continue
            except Exception:  # noqa: BLE001 - recorded in status/<run>.json by execute; go on
                pass
            n += 1
            break
        else:
            return n


#: seconds an adaptive study's idle worker waits before reading design.jsonl again
DESIGN_POLL_S = 0.5


def _work_chosen(spec: StudySpec, threads: int) -> int:
    """An adaptive study's worker: train the units its design has chosen (design.jsonl), in the order
    chosen, waiting for the next decision while none is left; return once the design has stopped and
    nothing chosen is left to claim."""
    from clipscale.study.units import pool

    store = Store(spec.out)
    units = {u.name: u for u in pool(spec)}
    n = 0
    while True:
        records = store.read_design()
        for key in [k for r in records for k in r["chosen"]]:
            if store.state(key)[0] not in ("pending", "interrupted"):
                continue
            try:
                execute(spec, units[key], threads)
            except RunBusy:
                continue
            except Exception:  # noqa: BLE001 - recorded in status/<unit>.json by execute; go on
                pass
            n += 1
            break
        else:
            if records and records[-1]["phase"] == "stop":
                return n
            time.sleep(DESIGN_POLL_S)


def _train(study: StudySpec, run, out_dir: Path, threads: int, started: float) -> None:
    """Train `run` into `out_dir`; an elastic run (see BudgetSettings.elastic) sizes its largest level
    to end when the study's plan says it should, counted from `started`."""
    import torch

    from clipscale.train import TrainSpec, train

    torch.set_num_threads(threads)
    if isinstance(run, Branch):  # an adaptive study's branch: its trunk as far as it needs, then the branch
        from clipscale.train.branches import train_branch, train_trunk_to

        spec = TrainSpec.from_dict(run.run.train_spec(threads))
        with Store(study.out).trunk_lock(run.run.name):
            train_trunk_to(spec, run.run.levels, run.level, out_dir)
        train_branch(spec, run.run.levels, run.level, out_dir)
        return
    spec = TrainSpec.from_dict(run.train_spec(threads))
    if run.is_trunk:
        from clipscale.study.budget import run_deadline
        from clipscale.train.branches import train_branches

        deadline = run_deadline(study, run, started) if run.elastic else None
        train_branches(spec, list(run.levels), out_dir, resume=True, progress=False, elastic=run.elastic,
                       finish_by=deadline)
    else:
        train(spec, out_dir, resume=True, progress=False)


def evaluate_checkpoints(spec: StudySpec, run: Run, run_dir: Path):
    """The run's rows: results schema plus run, level and grid columns (see annotate)."""
    from clipscale import evaluate as ev

    tasks = list(spec.eval.tasks) or list(ev.DEFAULT_EMBEDDED_TASKS)
    limit = spec.eval.limit or None
    if isinstance(run, Branch):  # an adaptive study's branch: its final checkpoint, the study point of its level
        return annotate(_evaluate_level(run.run, run_dir, run.level, tasks, limit, _worker_images()), run.run)
    if run.is_trunk:
        return annotate(_evaluate_branches(spec, run, run_dir, tasks, limit), run)
    if spec.eval.every_checkpoint:
        rows = ev.evaluate_run(run_dir, tasks, limit=limit, progress=False)  # facts from the run's spec.json
    else:
        import pandas as pd

        rows = pd.concat([ev.evaluate(run.model, RunFolder(run_dir).checkpoint(e), tasks, limit=limit,
                                      progress=False, meta={"epoch": e, **_row_facts(run)})
                          for e in level_epochs(run)], ignore_index=True)
    return annotate(rows, run)


def _row_facts(run: Run) -> dict:
    """What evaluate cannot read from a lone checkpoint: the run's upstream data (evaluate_run reads
    it from the run's spec.json by the same rule)."""
    return {"upstream_dataset": run_upstream_dataset(run.train.train_data or None, run.data_size)}


def _evaluate_branches(spec: StudySpec, run: Run, run_dir: Path, tasks, limit):
    """Cooldown mode: each branch's final checkpoint is the study point of its level; with
    every_checkpoint, the trunk's checkpoints (constant lr, not annealed) add learning-curve rows."""
    import pandas as pd

    from clipscale import evaluate as ev
    from clipscale.evaluate.features import DecodedImages
    from clipscale.train.branches import TRUNK_DIR, top_levels, trunk_dir

    decoded = DecodedImages()
    frames = [_evaluate_level(run, run_dir, level, tasks, limit, decoded)
              for level in top_levels(run_dir, run.levels)]  # an elastic run's largest level as it was chosen
    if spec.eval.every_checkpoint:
        trunk = ev.evaluate_run(trunk_dir(run_dir), tasks, arch=run.model, limit=limit, progress=False)
        frames.append(trunk.assign(level=float("nan"), branch=TRUNK_DIR))
    return pd.concat(frames, ignore_index=True)


_IMAGES = None  # this worker's decoded evaluation images, kept across the branches it evaluates


def _worker_images():
    global _IMAGES
    if _IMAGES is None:
        from clipscale.evaluate.features import DecodedImages

        _IMAGES = DecodedImages()
    return _IMAGES


def _evaluate_level(run: Run, run_dir: Path, level: int, tasks, limit, decoded=None):
    """The rows of the branch of `level` of cool-down run `run`: its final checkpoint evaluated."""
    from clipscale import evaluate as ev
    from clipscale.train.branches import branch_dir

    epoch, last = RunFolder(branch_dir(run_dir, level)).numbered_checkpoints()[-1]
    rows = ev.evaluate(run.model, last, tasks, limit=limit, progress=False, decoded=decoded,
                       meta={"samples_seen": float(level), "epoch": epoch, **_row_facts(run)})
    return rows.assign(level=float(level), branch=branch_dir(run_dir, level).name)


def level_epochs(run: Run) -> list[int]:
    """The checkpoints (1-based epochs) that stand for the run's samples-seen levels."""
    return sorted({max(1, round(lv / run.samples_seen * run.epochs)) for lv in run.levels})


def annotate(rows, run: Run):
    """Add the grid's columns to a run's evaluated rows.

    `level` is the nominal samples-seen level a checkpoint stands for (NaN for the learning-curve
    points in between) and `is_level` marks the study points: the final checkpoint of a run, or in
    levels_from="checkpoints" mode the checkpoint nearest each level (within 5%).
    """
    import numpy as np

    rows = rows.copy()
    seen = rows["samples_seen"].astype(float)
    level = np.full(len(rows), np.nan)
    for lv in ([] if "level" in rows else run.levels):  # cooldown rows come with their level
        nearest = seen.iloc[(seen - lv).abs().argsort().iloc[0]] if len(rows) else lv
        if abs(nearest - lv) <= 0.05 * lv:
            level[(seen == nearest).to_numpy()] = lv
    if "level" not in rows:
        rows["level"] = level
    level = rows["level"].to_numpy(dtype=float)
    rows["is_level"] = ~np.isnan(level)
    rows["run"] = run.name
    rows["run_hash"] = run.hash
    rows["data_size"] = run.data_size
    rows["lr"] = run.lr
    rows["batch_size"] = run.batch_size
    rows[SEED_COL] = run.train.seed  # replicates of one configuration differ only here ([axes] seed)
    return rows
