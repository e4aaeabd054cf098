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
from typing import Callable

from clipscale.study.progress import Progress
from clipscale.study.one_run import execute, find_run, load_study
from clipscale.study.spec import Run, StudySpec
from clipscale.study.store import Store

POLL_S = 0.5


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL this child when the study process dies (any way, SIGKILL included)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


def worker_command(spec: StudySpec, threads: int, run: Run | None = None, torchrun: bool = False) -> list[str]:
    """`clipscale study worker DIR`: one named run, or (no run) claim runs until none is left."""
    cmd = [sys.executable, "-m", "clipscale", "study", "worker", str(spec.out_dir), "--threads", str(threads)]
    if run is not None:
        cmd.insert(6, run.name)
    if torchrun:
        cmd[1:3] = ["-m", "torch.distributed.run", "--standalone",
                    f"--nproc_per_node={spec.launch.nproc_per_node}", "-m", "clipscale"]
    return cmd


def _spawn(store: Store, cmd: list[str], threads: int, log_name: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    log = store.log_path(log_name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)


def run_local(spec: StudySpec, runs: list[Run], jobs: int, threads: int, progress: Progress) -> None:
    """`jobs` long-lived worker processes claim runs (longest first) until none is left.

    A worker keeps its caches (evaluation images) across runs. A worker that dies has its run
    recorded as failed, and a fresh worker takes over the remaining runs.
    """
    store = Store(spec.out)
    workers: dict[int, subprocess.Popen] = {}
    logs: dict[int, str] = {}
    spawned = 0

    def start() -> None:
        nonlocal spawned
        spawned += 1
        proc = _spawn(store, worker_command(spec, threads), threads, f"worker-{spawned}")
        workers[proc.pid], logs[proc.pid] = proc, f"worker-{spawned}"

    for _ in range(min(jobs, len(runs))):
        start()
    try:
        while workers:
            for pid, proc in list(workers.items()):
                if proc.poll() is None:
                    continue
                del workers[pid]
                if proc.returncode != 0:
                    _fail_orphans(store, runs, pid, proc.returncode, logs[pid])
                    claimable = [r for r in runs if store.state(r.name)[0] in ("pending", "interrupted")]
                    if claimable and spawned < jobs + len(runs):
                        start()
            progress.poll()
            time.sleep(POLL_S)
        progress.poll()
    finally:
        _stop(workers.values())


def run_per_process(spec: StudySpec, runs: list[Run], jobs: int, threads: int, progress: Progress,
                    torchrun: bool = True) -> None:
    """One process (a torchrun job: DDP over nproc_per_node) per run, `jobs` at a time, longest first."""
    store = Store(spec.out)
    pending = sorted(runs, key=progress.cost, reverse=True)
    active: dict[int, tuple[subprocess.Popen, Run]] = {}
    try:
        while pending or active:
            while pending and len(active) < jobs:
                run = pending.pop(0)
                proc = _spawn(store, worker_command(spec, threads, run, torchrun), threads, run.name)
                active[proc.pid] = (proc, run)
            for pid, (proc, run) in list(active.items()):
                if proc.poll() is not None:
                    del active[pid]
                    if proc.returncode != 0 and store.state(run.name)[0] not in ("failed", "done"):
                        store.mark(run.name, "failed", reason=_exit_reason(store, proc.returncode, run.name))
            progress.poll()
            time.sleep(POLL_S)
        progress.poll()
    finally:
        _stop(p for p, _ in active.values())


def _stop(procs) -> None:
    """Ctrl-C or an error in the study process: stop the workers; their checkpoints stay."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()


def _fail_orphans(store: Store, runs: list[Run], pid: int, code: int, log_name: str) -> None:
    """Runs a dead worker was training: record why, since the worker could not."""
    for run in runs:
        record = store.read_status(run.name) or {}
        if record.get("state") == "running" and record.get("pid") == pid:
            store.mark(run.name, "failed", reason=_exit_reason(store, code, log_name))


def _exit_reason(store: Store, code: int, log_name: str) -> str:
    log = store.log_path(log_name)
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return f"worker {how}; " + (tail[0][:300] if tail else f"see {log}")


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
    executor = submitit.AutoExecutor(folder=store.slurm_dir / "%j", cluster=cluster)
    executor.update_parameters(**slurm_parameters(spec, jobs))
    ordered = sorted(runs, key=progress.cost, reverse=True)
    wave = jobs if executor.cluster == "local" else len(ordered)  # local: no array throttling
    for i in range(0, len(ordered), wave):
        batch = ordered[i:i + wave]
        submitted = executor.map_array(slurm_entry, [str(store.root)] * len(batch),
                                       [r.name for r in batch], [threads] * len(batch))
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
        progress.poll()
        time.sleep(POLL_S)


LAUNCHERS: dict[str, Callable] = {"local": run_local, "torchrun": run_per_process, "slurm": run_slurm}

