"""Launchers: run a study's pending runs as local processes, torchrun jobs or SLURM jobs (submitit).

Each run is its own process (`clipscale study worker`), so a crash, an out-of-memory kill or a
NaN in one run never takes the others down. Local workers die with the study process
(PR_SET_PDEATHSIG), so killing `study run` never leaves orphans training behind the next run.
Longest runs start first, which keeps both cores busy until the end.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from clipscale.study.progress import Progress
from clipscale.study.runner import execute, find_run, load_study
from clipscale.study.spec import Run, StudySpec
from clipscale.study.store import Store

POLL_S = 0.5


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL this child when the study process dies (any way, SIGKILL included)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


def worker_command(spec: StudySpec, run: Run, threads: int, torchrun: bool) -> list[str]:
    cmd = [sys.executable, "-m", "clipscale", "study", "worker", str(spec.out_dir), "--run", run.name,
           "--threads", str(threads)]
    if torchrun:
        cmd[1:3] = ["-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={spec.launch.nproc_per_node}", "-m", "clipscale"]
    return cmd


def run_processes(spec: StudySpec, runs: list[Run], jobs: int, threads: int, progress: Progress,
                  torchrun: bool = False) -> None:
    """Run `runs` as worker processes, `jobs` at a time, longest first; wait for all of them."""
    store = Store(spec.out)
    pending = sorted(runs, key=progress.cost, reverse=True)
    active: dict[str, tuple[subprocess.Popen, Run]] = {}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    try:
        while pending or active:
            while pending and len(active) < jobs:
                run = pending.pop(0)
                log = store.root / "logs" / f"{run.name}.log"
                log.parent.mkdir(parents=True, exist_ok=True)
                with open(log, "ab") as fh:
                    proc = subprocess.Popen(worker_command(spec, run, threads, torchrun), stdout=fh,
                                            stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)
                active[run.name] = (proc, run)
                progress.started(run)
            for name, (proc, run) in list(active.items()):
                if proc.poll() is not None:
                    del active[name]
                    _record_exit(store, run, proc.returncode)
                    progress.finished(run, store.state(run.name))
            progress.tick()
            time.sleep(POLL_S)
    finally:
        for proc, _ in active.values():  # Ctrl-C: stop the workers; their checkpoints stay
            proc.terminate()


def _record_exit(store: Store, run: Run, code: int) -> None:
    """A worker killed from outside (signal, OOM) writes no reason itself: record one for it."""
    state, _ = store.state(run.name)
    if code != 0 and state not in ("failed", "done"):
        log = store.root / "logs" / f"{run.name}.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        store.mark(run.name, "failed", reason=f"worker {how}; " + (tail[0][:300] if tail else f"see {log}"))


# ---------------------------------------------------------------- SLURM through submitit

def slurm_entry(study_dir: str, run_name: str, threads: int) -> str:
    """The function each SLURM job runs (pickled by submitit)."""
    import submitit

    env = submitit.JobEnvironment()
    if env.num_tasks > 1:  # DDP across the job's tasks: RANK, WORLD_SIZE, MASTER_ADDR/PORT
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    spec = load_study(study_dir)
    return str(execute(spec, find_run(spec, run_name), threads))


def slurm_parameters(spec: StudySpec, jobs: int) -> dict:
    """AutoExecutor parameters from the spec's [slurm] table (documented in docs/study.md)."""
    s = spec.slurm
    params = {"timeout_min": s.time_min, "nodes": s.nodes, "tasks_per_node": s.tasks_per_node,
              "cpus_per_task": s.cpus_per_task, "mem_gb": s.mem_gb, "gpus_per_node": s.gpus_per_node,
              "name": f"clipscale-{spec.name}", "slurm_array_parallelism": jobs}
    for key in ("partition", "account", "qos", "constraint"):
        if getattr(s, key):
            params[f"slurm_{key}"] = getattr(s, key)
    return params


def run_slurm(spec: StudySpec, runs: list[Run], jobs: int, threads: int, progress: Progress) -> None:
    """Submit one job per run (a job array on SLURM) and wait for all of them.

    With [slurm] cluster = "local" submitit runs the jobs on this machine, `jobs` at a time.
    """
    import submitit

    store = Store(spec.out)
    cluster = spec.slurm.cluster or None
    executor = submitit.AutoExecutor(folder=store.root / "slurm" / "%j", cluster=cluster)
    executor.update_parameters(**slurm_parameters(spec, jobs))
    ordered = sorted(runs, key=progress.cost, reverse=True)
    wave = jobs if executor.cluster == "local" else len(ordered)  # local: no array throttling
    for i in range(0, len(ordered), wave):
        batch = ordered[i:i + wave]
        submitted = executor.map_array(slurm_entry, [str(store.root)] * len(batch),
                                       [r.name for r in batch], [threads] * len(batch))
        for run in batch:
            progress.started(run)
        _wait_jobs(store, list(zip(submitted, batch)), progress)


def _wait_jobs(store: Store, pairs, progress: Progress) -> None:
    active = list(pairs)
    while active:
        for job, run in list(active):
            if job.done():
                active.remove((job, run))
                try:
                    job.result()
                except Exception as exc:  # noqa: BLE001 - recorded, and the other runs go on
                    if store.state(run.name)[0] != "failed":
                        store.mark(run.name, "failed", reason=f"slurm job {job.job_id}: {str(exc)[-300:]}")
                progress.finished(run, store.state(run.name))
        progress.tick()
        time.sleep(POLL_S)


LAUNCHERS: dict[str, Callable] = {
    "local": lambda spec, runs, jobs, threads, progress: run_processes(spec, runs, jobs, threads, progress),
    "torchrun": lambda spec, runs, jobs, threads, progress: run_processes(spec, runs, jobs, threads, progress,
                                                                          torchrun=True),
    "slurm": run_slurm,
}

