"""Whole studies through real processes: failures, kill and rerun, SLURM via submitit, torchrun, demo."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from clipscale.study import load_spec, run_study, study_status


def _workers_alive(marker: str) -> list[int]:
    """Processes whose command line names the study folder (leftover workers)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in cmd and "study" in cmd and state != "Z":
                pids.append(int(proc.name))
    return pids


def test_failed_run_is_recorded_and_the_others_go_on(tiny, run_cli):
    # lr 1e9 makes the loss NaN at once: a real training failure, not a mock.
    path = tiny(lr=(2e-3, 1e9), samples=(256, 512, 1024))
    proc = run_cli("study", "run", str(path), "--quiet")
    assert proc.returncode == 1, proc.stderr[-2000:]  # runs are missing: not a success
    assert "missing:" in proc.stdout and "lr1e+09" in proc.stdout
    spec = load_spec(path)
    status = study_status(spec).set_index("run")
    failed = status[status["state"] == "failed"]
    assert len(failed) == 3 and all("lr1e+09" in r for r in failed.index)
    assert failed["reason"].str.len().min() > 10  # a reason, not an empty string
    assert (status["state"] == "done").sum() == 3
    results = pd.read_csv(spec.out_dir / "results.csv")
    assert set(results["lr"]) == {2e-3} and len(results) == 3  # 3 runs x 1 task, the failed ones absent
    summary = json.loads((spec.out_dir / "summary.json").read_text())
    assert len(summary["missing"]) == 3 and summary["law"]["n_points"] == 3
    st = run_cli("study", "status", str(path))
    assert st.returncode == 0 and st.stdout.count("failed") >= 3 and "compute spent" in st.stdout


def test_status_json_and_report_read_the_folder_back(tiny, capsys):
    from clipscale.cli import main

    path = tiny(samples=(256,), extra="")
    assert main(["study", "status", str(path), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["state"] for r in records] == ["pending"] and records[0]["gmacs_spent"] == 0
    run_study(load_spec(path), progress=False, report=False)
    assert main(["study", "status", str(path), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)[0]
    assert done["state"] == "done" and done["gmacs_total"] > 0
    assert done["gmacs_spent"] == pytest.approx(done["gmacs_total"])
    assert main(["study", "report", str(path)]) == 0
    assert (load_spec(path).out_dir / "report" / "index.html").exists()


@pytest.mark.slow
def test_kill_the_study_and_rerun_resumes_without_duplicates(tiny, run_cli):
    path = tiny(samples=(512, 1536), checkpoints=4)
    spec = load_spec(path)
    out = spec.out_dir
    study = subprocess.Popen([sys.executable, "-m", "clipscale", "study", "run", str(path), "--quiet"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = None
    deadline = time.time() + 300
    while partial is None and time.time() < deadline:  # kill once a run has a checkpoint but no result
        for run in spec.runs():
            ckpt = out / "runs" / run.name / "checkpoints" / "epoch_1.pt"
            if ckpt.exists() and not (out / "results" / f"{run.name}.csv").exists() \
                    and not (out / "runs" / run.name / "done.json").exists():
                partial = (run.name, ckpt, ckpt.stat().st_mtime_ns)
                break
        time.sleep(0.05)
    assert partial is not None, "no run reached its first checkpoint"
    os.kill(study.pid, signal.SIGKILL)
    study.wait()
    time.sleep(2)
    assert _workers_alive(str(out)) == []  # the workers died with the study: no orphan training
    states = study_status(spec).set_index("run")["state"]
    assert states[partial[0]] == "interrupted"

    again = run_cli("study", "run", str(path), "--quiet")
    assert again.returncode == 0, again.stderr[-2000:]
    assert partial[1].stat().st_mtime_ns == partial[2]  # resumed from epoch 1, not retrained
    assert (study_status(spec)["state"] == "done").all()
    results = pd.read_csv(out / "results.csv")
    curves = pd.read_csv(out / "curves.csv")
    assert len(results) == len(spec.runs())  # one study point per run (1 task), none lost
    assert not results.duplicated(["run", "samples_seen", "downstream_dataset"]).any()
    assert len(curves) == 4 * len(spec.runs()) and not curves.duplicated(["run", "epoch"]).any()
    steps = [json.loads(line)["step"] for line in (out / "runs" / partial[0] / "metrics.jsonl").open()]
    assert len(steps) == len(set(steps))  # the resumed run logged each step once

    third = run_cli("study", "run", str(path), "--quiet")  # everything done: nothing retrained
    assert third.returncode == 0 and "start" not in third.stderr
    assert pd.read_csv(out / "results.csv").equals(results)


@pytest.mark.slow
def test_slurm_launcher_through_submitit_local_executor(tiny):
    path = tiny(samples=(256, 512), extra='[slurm]\ncluster = "local"\ntime_min = 10\n')
    outcome = run_study(load_spec(path), launcher="slurm", progress=False, report=False)
    assert not outcome.missing
    assert len(outcome.results) == 2
    assert list((outcome.out_dir / "slurm").rglob("*_result.pkl"))  # submitit really ran the jobs


@pytest.mark.slow
def test_smoke_demo_writes_results_fits_and_report(tmp_path, run_cli, capsys):
    """The example on `clipscale demo --help` (tests/cli/test_examples.py runs the other pages' examples)."""
    from clipscale.cli import main

    assert main(["demo", "--help"]) == 0
    [argv] = [line.split()[:6] for line in capsys.readouterr().out.splitlines()
              if line.strip().startswith("clipscale demo")]
    assert argv[1:] == ["demo", "--preset", "smoke", "--out", "smoke"], "update this test with the example"
    t0 = time.time()
    proc = run_cli(*argv[1:], "--quiet", cwd=tmp_path)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "smoke"
    results = pd.read_csv(out / "results.csv")
    fits = pd.read_csv(out / "fits.csv")
    assert results["arch"].nunique() == 3 and results["data_size"].nunique() == 2
    assert results["level"].nunique() == 3
    head = fits[fits["headline"]].iloc[0]
    assert head["downstream_dataset"] == "embedded/shape" and head["status"] == "ok"
    assert 0 <= head["r2"] <= 1 and head["backtest_mae_pct"] >= 0 and head["n_points"] == len(results)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 6 and summary["law"]["r2"] == pytest.approx(head["r2"])
    assert summary["gmacs_total_range"][0] == pytest.approx(results["gmacs_total"].min())
    # the printed headline carries the fitted numbers, not just the words
    assert f"R^2 = {head['r2']:.3f}" in proc.stdout and f"{head['backtest_mae_pct']:.2f}" in proc.stdout
    html = (out / "report" / "index.html").read_text()
    assert "embedded/shape" in html and all(r in html for r in results["run"].unique())  # every run reported
    print(f"smoke demo wall time {wall:.1f} s")


@pytest.mark.slow
def test_torchrun_launcher_trains_a_run_with_two_processes(tiny):
    path = tiny(samples=(512,), extra="")
    spec = load_spec(path).replace(launch={"nproc_per_node": 2})
    outcome = run_study(spec, launcher="torchrun", jobs=1, progress=False, report=False)
    assert not outcome.missing, outcome.missing
    run_dir = outcome.out_dir / "runs" / spec.runs()[0].name
    done = json.loads((run_dir / "done.json").read_text())
    assert done["extra"]["world_size"] == 2  # really trained by two DDP processes
    assert len(outcome.results) == 1
