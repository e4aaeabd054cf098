"""The study folder: every file and folder name of it is defined here, with the methods that read and
write them (nothing else in clipscale spells a study folder's names). Run folders inside it belong
to the trainer (clipscale.train.run and clipscale.train.branches name their files).

Layout of a study folder:
    study.json               spec, versions, git commit of the latest `study run`
    plan.json                a wall-time budget's plan, keyed by the spec and the budget (study.budget)
    runs/<run>/              the trainer's run folder (spec.json, checkpoints/, done.json; a cool-down
                             run: trunk/, branch_s<level>/, top_level.json)
    status/<run>.json        running (pid, host), done (wall time) or failed (reason)
    results/<run>.csv        every evaluated checkpoint of the run (written once, atomically)
    results.csv              merged study points: one row per run x level x task
    curves.csv               merged learning curves: every checkpoint x task
    fits.csv, fits.json      the fitted laws (a row per law; the fit objects, read back by the report)
    summary.json             the headline: law, backtest, frontier, budget, what is missing
    design.jsonl             an adaptive study's decisions, one JSON line per round (clipscale.study.adaptive)
    report/                  the HTML report (clipscale.report)
    finetune/<run>/<task>/   [finetune]: each run's fine-tuned checkpoint and rows (clipscale.evaluate.transfer)
    logs/, locks/, slurm/    worker logs, run locks, submitit's folders
An adaptive study with cool-down levels trains one branch at a time: its status/, results/ and
locks/ files are named after the branch (`<run>@<level>`), its folders are the run's (runs/<run>/).
A run's rows live in exactly one file that is replaced whole, so a rerun never duplicates rows
and several runs finishing at once never write the same file. The merged tables are rebuilt from
those files under an exclusive lock (fcntl), so concurrent merges cannot lose each other's rows.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Iterator

from clipscale import _io
from clipscale.errors import DataError
from clipscale.train.run import RunFolder

STUDY_FILE = "study.json"
PLAN_FILE = "plan.json"
SUMMARY_FILE = "summary.json"
RESULTS_FILE = "results.csv"
CURVES_FILE = "curves.csv"
FITS_CSV, FITS_JSON = "fits.csv", "fits.json"
REPORT_DIR = "report"
RUNS_DIR, STATUS_DIR, RESULTS_DIR = "runs", "status", "results"
LOGS_DIR, LOCKS_DIR, SLURM_DIR = "logs", "locks", "slurm"
FINETUNE_DIR = "finetune"
DESIGN_FILE = "design.jsonl"
MERGE_LOCK = ".merge.lock"


class Store:
    """Paths and records of one study folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.spec_path = self.root / STUDY_FILE
        self.plan_path = self.root / PLAN_FILE
        self.summary_path = self.root / SUMMARY_FILE
        self.results_path = self.root / RESULTS_FILE
        self.curves_path = self.root / CURVES_FILE
        self.fits_csv, self.fits_json = self.root / FITS_CSV, self.root / FITS_JSON
        self.report_dir = self.root / REPORT_DIR
        self.runs_dir = self.root / RUNS_DIR
        self.slurm_dir = self.root / SLURM_DIR
        self.finetune_dir = self.root / FINETUNE_DIR      # [finetune]'s fine-tuned checkpoints, per run x task
        self.design_path = self.root / DESIGN_FILE

    def run_dir(self, name: str) -> Path:
        return self.runs_dir / name

    def result_path(self, name: str) -> Path:
        return self.root / RESULTS_DIR / f"{name}.csv"

    def status_path(self, name: str) -> Path:
        return self.root / STATUS_DIR / f"{name}.json"

    def log_path(self, name: str) -> Path:
        """A worker's (or a torchrun run's) log file."""
        return self.root / LOGS_DIR / f"{name}.log"

    # ---------------------------------------------------------------- study-wide files

    def write_spec(self, spec: dict[str, Any]) -> Path:
        """study.json: the spec (StudySpec.to_dict()) with versions and git commit."""
        return _io.atomic_write_json(self.spec_path, _io.run_metadata(spec))

    def read_spec(self) -> dict[str, Any] | None:
        """The spec study.json holds (a dict for clipscale.study.spec_from_dict), None when absent."""
        record = _read_json(self.spec_path)
        return None if record is None else record["spec"]

    def write_plan(self, record: dict[str, Any]) -> Path:
        return _io.atomic_write_json(self.plan_path, record)

    def read_plan(self) -> dict[str, Any] | None:
        """plan.json ({"key": ..., "plan": Plan.to_dict()}), None when the study was never planned."""
        return _read_json(self.plan_path)

    def write_summary(self, summary: dict[str, Any]) -> Path:
        return _io.atomic_write_json(self.summary_path, summary)

    def read_summary(self) -> dict[str, Any] | None:
        return _read_json(self.summary_path)

    def write_fits(self, fits) -> None:
        """fits.csv (one row per law) and fits.json (the fit objects), from a clipscale.laws Fits."""
        frame = fits.frame()
        _io.atomic_write_with(self.fits_csv, lambda p: frame.to_csv(p, index=False))
        fits.save(self.fits_json)

    def read_design(self) -> list[dict[str, Any]]:
        """design.jsonl's records, oldest first ([] when absent). The file is replaced whole on every
        write, so a kill cannot tear it; a last line that does not parse all the same (a copy cut short)
        is dropped: its decision is made again from the same inputs."""
        try:
            lines = self.design_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        records = []
        for i, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except ValueError:
                if i == len(lines) - 1:
                    break
                raise DataError(f"{self.design_path} line {i + 1} is not JSON; restore the file or remove it "
                                f"to start the design afresh") from None
        return records

    def append_design(self, record: dict[str, Any]) -> Path:
        """Add one decision to design.jsonl: the records read back plus this one, written to a temporary
        file, fsync'd and renamed over the old file (atomic)."""
        lines = [json.dumps(r, sort_keys=True, allow_nan=False) for r in self.read_design() + [record]]
        return _io.atomic_write_text(self.design_path, "\n".join(lines) + "\n")

    # ---------------------------------------------------------------- status records

    def mark(self, name: str, state: str, **info: Any) -> None:
        """Record a run's state (running/done/failed) with pid, host and time (UTC seconds)."""
        record = {"run": name, "state": state, "pid": os.getpid(), "host": platform.node(),
                  "time": time.time(), **info}
        _io.atomic_write_json(self.status_path(name), record)

    def read_status(self, name: str) -> dict[str, Any] | None:
        return _read_json(self.status_path(name))

    def has_started(self, name: str) -> bool:
        """Whether the run's folder holds a checkpoint folder (it resumes from there)."""
        return RunFolder(self.run_dir(name)).checkpoint_dir.is_dir()

    def state(self, name: str) -> tuple[str, str]:
        """(state, reason) of a run, from its files: the source of truth is on disk, not a daemon."""
        if self.result_path(name).exists():
            return "done", ""
        record = self.read_status(name) or {}
        if record.get("state") == "failed":
            return "failed", record.get("reason", "")
        if self.is_running(name, record):
            return "running", ""
        if self.has_started(name) or record.get("state") == "running":
            return "interrupted", "resumes from its last checkpoint on the next `study run`"
        return "pending", ""

    # ---------------------------------------------------------------- run locks

    @contextlib.contextmanager
    def run_lock(self, name: str) -> Iterator[bool]:
        """Hold the run's lock while training it; yields False when another process holds it.

        The kernel drops an flock when its process dies, so a killed study leaves no stale lock.
        """
        path = self.root / LOCKS_DIR / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def trunk_lock(self, name: str) -> Iterator[None]:
        """Hold run `name`'s trunk while extending it (an adaptive study's branches of one trunk):
        waits for another process that holds it. Dropped by the kernel when its process dies."""
        path = self.root / LOCKS_DIR / f"{name}.trunk.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def is_running(self, name: str, record: dict[str, Any] | None = None) -> bool:
        """Whether the process named in the run's 'running' record is alive.

        Read-only on purpose: probing the flock would take it for a moment and could make a worker
        that claims the run at that instant skip it. On another host (SLURM) a 'running' record is
        trusted.
        """
        record = record if record is not None else (self.read_status(name) or {})
        if record.get("state") != "running":
            return False
        if record.get("host") != platform.node():
            return True
        try:
            os.kill(int(record["pid"]), 0)
        except ProcessLookupError:
            return False
        except (PermissionError, KeyError, ValueError):
            return True
        return not _is_zombie(int(record["pid"]))

    # ---------------------------------------------------------------- results

    def write_result(self, name: str, frame) -> Path:
        """Write one run's evaluated rows (a DataFrame) as its own file, atomically."""
        return _io.atomic_write_with(self.result_path(name), lambda p: frame.to_csv(p, index=False))

    def merge(self, names: list[str] | None = None):
        """Rebuild results.csv (study points) and curves.csv (every checkpoint) from the run files.

        `names` limits the merge to the runs of the current spec (a folder may hold older runs).
        Returns (results, curves) DataFrames. Safe to call from several processes at once.
        """
        import pandas as pd

        with self._merge_lock():
            files = sorted((self.root / RESULTS_DIR).glob("*.csv"))
            if names is not None:
                wanted = set(names)
                files = [f for f in files if f.stem in wanted]
            frames = [pd.read_csv(f) for f in files]
            curves = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            if not curves.empty:
                curves = curves.sort_values(["run", "samples_seen", "downstream_dataset"], kind="stable")
                curves = curves.reset_index(drop=True)
            results = curves[curves["is_level"].astype(bool)] if not curves.empty else curves
            results = results.reset_index(drop=True)
            _io.atomic_write_with(self.curves_path, lambda p: curves.to_csv(p, index=False))
            _io.atomic_write_with(self.results_path, lambda p: results.to_csv(p, index=False))
        return results, curves

    @contextlib.contextmanager
    def _merge_lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / MERGE_LOCK, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON record of the folder, None when absent (or unreadable: cannot happen with atomic writes;
    treated as unknown rather than a crash)."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _is_zombie(pid: int) -> bool:
    """A child that exited but was not reaped yet still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
