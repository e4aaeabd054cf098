"""Results store: per-run files, merges under a lock with real concurrent processes, run states."""
from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys

import pandas as pd

from clipscale.study.store import Store

N_PROCS, N_ROUNDS, ROWS = 4, 8, 5


def _rows(name: str, version: int) -> pd.DataFrame:
    return pd.DataFrame({"run": name, "samples_seen": range(ROWS), "downstream_dataset": "t",
                         "acc1": [version / 100] * ROWS, "is_level": [True] * ROWS})


def _writer(root: str, i: int, barrier) -> None:
    store = Store(root)
    barrier.wait()  # all processes write and merge at the same moment
    for version in range(N_ROUNDS):
        store.write_result(f"run{i}", _rows(f"run{i}", version))
        results, _ = store.merge()
        assert (results["run"] == f"run{i}").sum() == ROWS  # its own rows: present, once
        merged = pd.read_csv(store.root / "results.csv")  # never a torn file
        assert len(merged) % ROWS == 0


def test_concurrent_runs_finishing_never_corrupt_or_lose_rows(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(N_PROCS)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), i, barrier)) for i in range(N_PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * N_PROCS
    merged = pd.read_csv(tmp_path / "results.csv")
    assert len(merged) == N_PROCS * ROWS
    assert merged.groupby("run").size().to_dict() == {f"run{i}": ROWS for i in range(N_PROCS)}
    assert (merged["acc1"] == (N_ROUNDS - 1) / 100).all()  # each run's last write won
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no temporary file left behind


def test_merge_keeps_levels_in_results_and_everything_in_curves(tmp_path):
    store = Store(tmp_path)
    df = _rows("a", 1)
    df["is_level"] = [False, False, True, False, True]
    store.write_result("a", df)
    store.write_result("old", _rows("old", 1))
    results, curves = store.merge(["a"])  # runs of another spec in the same folder are left out
    assert len(curves) == 5 and len(results) == 2 and set(results["run"]) == {"a"}


def test_states_come_from_the_files(tmp_path):
    store = Store(tmp_path)
    assert store.state("r") == ("pending", "")
    (store.run_dir("r") / "checkpoints").mkdir(parents=True)
    assert store.state("r")[0] == "interrupted"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        store.mark("r", "running", pid=sleeper.pid)
        assert store.state("r")[0] == "running"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert store.state("r")[0] == "interrupted"  # its process is gone: resumable, not running
    store.mark("r", "failed", reason="TrainingError: loss is NaN")
    assert store.state("r") == ("failed", "TrainingError: loss is NaN")
    store.write_result("r", _rows("r", 0))
    assert store.state("r") == ("done", "")


def test_run_lock_is_exclusive_and_released_when_its_process_dies(tmp_path):
    store = Store(tmp_path)
    code = ("import sys, time; from clipscale.study.store import Store\n"
            "with Store(sys.argv[1]).run_lock('r') as mine:\n"
            "    print(mine, flush=True); time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        with store.run_lock("r") as mine:
            assert mine is False
    finally:
        holder.kill()
        holder.wait()
    with store.run_lock("r") as mine:
        assert mine is True
    assert os.path.exists(tmp_path / "locks" / "r.lock")


def test_progress_names_runs_and_estimates_time_left(tmp_path):
    import io
    import json

    from clipscale.study import spec_from_dict
    from clipscale.study.progress import Progress

    spec = spec_from_dict({"name": "p", "out": str(tmp_path),
                           "axes": {"model": ["ladder-xs"], "data_size": [256], "samples_seen": [256, 512],
                                    "batch_size": [64]}})
    small, big = spec.runs()
    store = Store(tmp_path)
    stream = io.StringIO()
    bar = Progress(store, spec.runs(), stream=stream, every_s=0)
    store.mark(big.name, "running")  # this process: alive
    store.run_dir(big.name).mkdir(parents=True)
    (store.run_dir(big.name) / "metrics.jsonl").write_text(json.dumps({"step": 3, "samples_seen": 256}) + "\n")
    store.write_result(small.name, _rows(small.name, 1))
    bar.start -= 10  # ten seconds into the study
    bar.poll()
    text = stream.getvalue()
    assert f"start  {big.name}" in text and f"done   {small.name}" in text
    # done: 256 samples of the small run + 256 of the big one = 2/3 of the compute, so ~5 s are left
    assert "[1/2 runs, 0 failed,  67% of compute]" in text and "left ~5s" in text


def test_progress_shows_the_planned_time_left_before_the_first_steps(tmp_path):
    """A budgeted study knows its time left from the start: the plan's, until the runs log steps."""
    import io

    from clipscale.study import spec_from_dict
    from clipscale.study.progress import Progress

    spec = spec_from_dict({"name": "p", "out": str(tmp_path),
                           "axes": {"model": ["ladder-xs"], "data_size": [256], "samples_seen": [256],
                                    "batch_size": [64]}})
    stream = io.StringIO()
    bar = Progress(Store(tmp_path), spec.runs(), stream=stream, every_s=0, planned_s=100.0)
    bar.start -= 30  # thirty seconds in, nothing logged yet
    bar.poll()
    assert "left ~1m10s (planned)" in stream.getvalue()
    unplanned = io.StringIO()
    Progress(Store(tmp_path), spec.runs(), stream=unplanned, every_s=0).poll()
    assert "time left known after the first logged steps" in unplanned.getvalue()


def test_progress_says_which_runs_resume(tmp_path):
    """A run killed in an earlier `study run` (a checkpoint, no result) is announced as resuming,
    with the samples it had trained; a fresh one as starting, however far it got before a poll."""
    import io
    import json

    from clipscale.study import spec_from_dict
    from clipscale.study.progress import Progress

    spec = spec_from_dict({"name": "p", "out": str(tmp_path),
                           "axes": {"model": ["ladder-xs"], "data_size": [256], "samples_seen": [256, 512],
                                    "batch_size": [64]}})
    fresh, killed = spec.runs()
    store = Store(tmp_path)
    (store.run_dir(killed.name) / "checkpoints").mkdir(parents=True)
    (store.run_dir(killed.name) / "metrics.jsonl").write_text(json.dumps({"step": 2, "samples_seen": 128}) + "\n")
    stream = io.StringIO()
    bar = Progress(store, spec.runs(), stream=stream, every_s=0)
    for run in (fresh, killed):
        store.mark(run.name, "running")
    store.run_dir(fresh.name).mkdir(parents=True)
    (store.run_dir(fresh.name) / "metrics.jsonl").write_text(json.dumps({"step": 3, "samples_seen": 192}) + "\n")
    bar.poll()
    text = stream.getvalue()
    assert f"resume {killed.name} (from 128 samples trained)" in text and f"start  {fresh.name}" in text
