"""The study's results store: one atomically written file per run, merged under a lock.

Layout of a study folder:
    study.json               spec, versions, git commit of the latest `study run`
    runs/<run>/              the trainer's run folder (spec.json, checkpoints/, done.json)
    status/<run>.json        running (pid, host), done (wall time) or failed (reason)
    results/<run>.csv        every evaluated checkpoint of the run (written once, atomically)
    results.csv              merged study points: one row per run x level x task
    curves.csv               merged learning curves: every checkpoint x task
A run's rows live in exactly one file that is replaced whole, so a rerun never duplicates rows
and several runs finishing at once never write the same file. The merged tables are rebuilt from
those files under an exclusive lock (fcntl), so concurrent merges cannot lose each other's rows.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import time
from pathlib import Path
from typing import Any, Iterator

from clipscale import _io


class Store:
    """Paths and records of one study folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def run_dir(self, name: str) -> Path:
        return self.root / "runs" / name

    def result_path(self, name: str) -> Path:
        return self.root / "results" / f"{name}.csv"

    def status_path(self, name: str) -> Path:
        return self.root / "status" / f"{name}.json"

    # ---------------------------------------------------------------- status records

    def mark(self, name: str, state: str, **info: Any) -> None:
        """Record a run's state (running/done/failed) with pid, host and time (UTC seconds)."""
        record = {"run": name, "state": state, "pid": os.getpid(), "host": platform.node(),
                  "time": time.time(), **info}
        _io.atomic_write_json(self.status_path(name), record)

    def read_status(self, name: str) -> dict[str, Any] | None:
        import json

        path = self.status_path(name)
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:  # cannot happen with atomic writes; treat as unknown rather than crash
            return None

    def state(self, name: str) -> tuple[str, str]:
        """(state, reason) of a run, from its files: the source of truth is on disk, not a daemon."""
        if self.result_path(name).exists():
            return "done", ""
        record = self.read_status(name) or {}
        if record.get("state") == "failed":
            return "failed", record.get("reason", "")
        if self.is_running(name, record):
            return "running", ""
        if (self.run_dir(name) / "checkpoints").is_dir() or record.get("state") == "running":
            return "interrupted", "resumes from its last checkpoint on the next `study run`"
        return "pending", ""

    # ---------------------------------------------------------------- run locks

    @contextlib.contextmanager
    def run_lock(self, name: str) -> Iterator[bool]:
        """Hold the run's lock while training it; yields False when another process holds it.

        The kernel drops an flock when its process dies, so a killed study leaves no stale lock.
        """
        path = self.root / "locks" / f"{name}.lock"
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
            files = sorted((self.root / "results").glob("*.csv"))
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
            _io.atomic_write_with(self.root / "curves.csv", lambda p: curves.to_csv(p, index=False))
            _io.atomic_write_with(self.root / "results.csv", lambda p: results.to_csv(p, index=False))
        return results, curves

    @contextlib.contextmanager
    def _merge_lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".merge.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _is_zombie(pid: int) -> bool:
    """A child that exited but was not reaped yet still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
