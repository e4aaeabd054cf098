"""Progress display of a study: which runs are going, how much compute is done, the time left.

Time left is extrapolated from compute: (GMACs still to train) / (GMACs trained per second so far),
where a running run counts the samples its metrics.jsonl reports. Lines go to stderr; on a
terminal one status line is redrawn, otherwise a line is printed every `every_s` seconds.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from clipscale.compute import gmacs_per_sample
from clipscale.study.spec import Run
from clipscale.study.store import Store
from clipscale.train.branches import TOP_FILE, branch_dirs, trunk_dir
from clipscale.train.run import RunFolder


def fmt_s(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    m, s = divmod(seconds, 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def samples_trained(run_dir: Path) -> int:
    """Samples the run has trained on so far, from the last line of its metrics.jsonl (0 if none).
    A cooldown-mode run counts its trunk plus what each branch trained past its start."""
    if trunk_dir(run_dir).is_dir():
        total = _last_samples(trunk_dir(run_dir))
        for branch in branch_dirs(run_dir):
            seen = _last_samples(branch)
            if seen:
                total += max(0, seen - _branch_start(branch))
        return total
    return _last_samples(run_dir)


def _branch_start(branch: Path) -> int:
    """Samples of the trunk a branch resumed from (its spec's cool-down start; for an elastic top
    level, the trunk's last checkpoint, recorded in top_level.json)."""
    try:
        from clipscale.train.spec import TrainSpec

        spec = TrainSpec.from_dict(json.loads(RunFolder(branch).spec_path.read_text()))
        top = branch.parent / TOP_FILE
        if top.exists():
            record = json.loads(top.read_text())
            if record.get("from_samples") is not None and int(record["level"]) == spec.samples_seen:
                return int(record["from_samples"])
        return spec.cooldown_start_step * spec.batch_size
    except (OSError, ValueError, TypeError, KeyError):
        return 0


def _last_samples(run_dir: Path) -> int:
    try:  # written every few seconds by the trainer; metrics.jsonl only at checkpoints
        live = int(json.loads(RunFolder(run_dir).progress_path.read_text()).get("samples_seen", 0))
    except (OSError, ValueError, AttributeError):
        live = 0
    return max(live, _logged_samples(run_dir))


def _logged_samples(run_dir: Path) -> int:
    path = RunFolder(run_dir).metrics_path
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - 4096))
            lines = fh.read().decode(errors="replace").strip().splitlines()
        for line in reversed(lines):
            try:
                return int(json.loads(line).get("samples_seen", 0))
            except ValueError:
                continue
    except OSError:
        pass
    return 0


def to_train(run: Run) -> float:
    """Samples a run trains: samples_seen, or for a cooldown-mode run its trunk plus cool-downs."""
    if run.is_trunk:
        c = run.train.cooldown
        return (1 - c) * run.levels[-1] + c * sum(run.levels)
    return float(run.samples_seen)


class Progress:
    """Tracks runs of one `study run` invocation and prints what is going on."""

    def __init__(self, store: Store, runs: list[Run], enabled: bool = True, every_s: float = 10.0,
                 stream=None, speeds: dict[str, float] | None = None, planned_s: float | None = None):
        """speeds: measured samples/s per model (a budget's plan): work is then counted in predicted
        seconds, which small models (slow per GMAC) need; otherwise in GMACs. planned_s: the plan's
        seconds from this start to the end, the time left shown until the runs have logged steps."""
        self.store, self.runs, self.enabled, self.every_s = store, list(runs), enabled, every_s
        self.speeds, self.planned_s = speeds or {}, planned_s
        self.stream = stream or sys.stderr
        self.tty = self.enabled and getattr(self.stream, "isatty", lambda: False)()
        self.start = time.time()
        self.last_print = 0.0
        self.running: dict[str, Run] = {}
        self.finished_runs: dict[str, str] = {}
        self.total = sum(self.cost(r) for r in self.runs) or 1.0
        self.interrupted = {r.name: samples_trained(store.run_dir(r.name)) for r in self.runs
                            if store.state(r.name)[0] == "interrupted"}

    def unit(self, run: Run) -> float:
        """Work per sample trained: predicted seconds (measured speeds) or forward GMACs."""
        return 1 / self.speeds[run.model] if run.model in self.speeds else gmacs_per_sample(run.model)

    def cost(self, run: Run) -> float:
        """Work of a whole run (per-sample unit x samples it trains)."""
        return self.unit(run) * to_train(run)

    def done_cost(self) -> float:
        done = sum(self.cost(r) for r in self.runs if r.name in self.finished_runs)
        partial = sum(self.unit(r) * min(samples_trained(self.store.run_dir(r.name)), to_train(r))
                      for r in self.running.values())
        return done + partial

    def eta_s(self) -> float | None:
        frac = self.done_cost() / self.total
        elapsed = time.time() - self.start
        return None if frac <= 0.02 or elapsed < 1 else elapsed * (1 - frac) / frac

    def poll(self) -> None:
        """Read every run's state from the store; print starts and ends, then the summary line."""
        for run in self.runs:
            if run.name in self.finished_runs:
                continue
            state, why = self.store.state(run.name)
            if state == "running" and run.name not in self.running:
                self.running[run.name] = run
                done = self.interrupted.get(run.name)  # killed in an earlier `study run`: it resumes
                self._line(f"resume {run.name} (from {done:,} samples trained)" if done else f"start  {run.name}",
                           force=True)
            elif state in ("done", "failed"):
                self.running.pop(run.name, None)
                self.finished_runs[run.name] = state
                self._line(f"{state:<6} {run.name}" + (f" ({why})" if why and state != "done" else ""), force=True)
            elif state != "running":
                self.running.pop(run.name, None)
        self.tick()

    def tick(self) -> None:
        if time.time() - self.last_print >= (1.0 if self.tty else self.every_s):
            self._line(self.summary())

    def summary(self) -> str:
        n_done = sum(1 for s in self.finished_runs.values() if s == "done")
        n_fail = len(self.finished_runs) - n_done
        eta, left = self.eta_s(), "time left known after the first logged steps"
        if eta is not None:
            left = f"left ~{fmt_s(eta)}"
        elif self.planned_s is not None:  # start-up and pre-rendering come before the first step
            left = f"left ~{fmt_s(max(0.0, self.planned_s - (time.time() - self.start)))} (planned)"
        going = ", ".join(sorted(self.running)) or "-"
        return (f"[{n_done + n_fail}/{len(self.runs)} runs, {n_fail} failed, "
                f"{100 * self.done_cost() / self.total:3.0f}% of {'the plan' if self.speeds else 'compute'}] "
                f"elapsed {fmt_s(time.time() - self.start)}, "
                + left + f" | running: {going}")

    def _line(self, text: str, force: bool = False) -> None:
        if not self.enabled or (not force and not text):
            return
        self.last_print = time.time()
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if force else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
