"""Cool-down branches: one constant-lr trunk, one short cool-down branch per samples-seen level.

Hägele et al. 2024 ("Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations")
and the LAION comparison study (Nezhurina et al. 2025, `--lr_scheduler const-cooldown`) train one
run at a constant lr and branch a cool-down off it at each level, so one run per model x data size
gives every level. Here a branch of level L is exactly the const-cooldown run of L (same spec, same
warmup in samples): steps before its cool-down start are the trunk's, whose lr does not depend on
L, so the branch resumes the trunk's checkpoint at that step and trains only the cool-down.

Layout of `out_dir`: `trunk/` (a run folder, schedule "const", one checkpoint per branch start),
`branch_s<L>/` (one run folder per level; its final checkpoint is the study point) and
`branches.json` (written last: the levels, their folders, samples trained).

Elastic top level (`finish_by`): because no step before a cool-down depends on the level, the
largest level need not be fixed in advance (Hägele et al.'s point: the length can be chosen while
training). The trunk then stops at the last fixed branch start, the fixed branches are trained,
and the top level is chosen from the speed measured in this very run so that the run ends by
`finish_by`; its branch trains the rest of the constant phase and its cool-down from the trunk's
last checkpoint. The choice is rounded to steps of 2^(1/16) of the planned level (a rerun at a
speed within about 2% picks the same level) and recorded in `top_level.json` before it is
trained, so a resumed run keeps it. A wall-time budget uses it to end on time on a machine whose
speed drifts (clipscale.study.budget).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from clipscale._io import atomic_write_json
from clipscale.errors import UserInputError
from clipscale.train.run import RunFolder, TrainResult
from clipscale.train.spec import TrainSpec


@dataclass(frozen=True)
class BranchPlan:
    """The trunk and branch specs of one grid. Units: levels in samples seen."""

    trunk: TrainSpec
    levels: tuple[int, ...]
    branches: tuple[TrainSpec, ...]

    def trunk_epoch(self, i: int) -> int:
        """The trunk checkpoint (1-based epoch) branch i starts from."""
        return i + 1

    @property
    def samples_trained(self) -> int:
        """Samples trained by trunk + branches (vs sum(levels) for one cosine run per level)."""
        return self.trunk.total_steps * self.trunk.batch_size + sum(
            (b.total_steps - b.cooldown_start_step) * b.batch_size for b in self.branches)


# The grid folder's names, one home each: `trunk/`, `branch_s<level>/` (run folders), `branches.json`
# (written last) and `top_level.json` (an elastic top level, decided before it is trained).
TRUNK_DIR = "trunk"
BRANCH_PREFIX = "branch_s"
BRANCHES_FILE = "branches.json"
TOP_FILE = "top_level.json"
#: the kinds of run folder a study trains (a typed trait of each training-curve row, never read
#: back from a folder's name): a constant-lr trunk, a cool-down branch of it, or a whole run
TRUNK, BRANCH, WHOLE_RUN = "trunk", "branch", "run"


def trunk_dir(out_dir: str | Path) -> Path:
    """The trunk's run folder inside a cool-down grid's folder."""
    return Path(out_dir) / TRUNK_DIR


def branch_dir(out_dir: str | Path, level: int) -> Path:
    """The run folder of the cool-down branch of `level` (samples seen)."""
    return Path(out_dir) / f"{BRANCH_PREFIX}{level}"


def branch_dirs(out_dir: str | Path) -> list[Path]:
    """Every branch folder present in a cool-down grid's folder (any level)."""
    return sorted(Path(out_dir).glob(f"{BRANCH_PREFIX}*"))


def grid_parts(out_dir: str | Path, levels) -> list[tuple[str, str, Path]]:
    """(name, kind, run folder) of a cool-down grid's trunk and of the branch of each level it
    trained (`top_levels`: an elastic top level as it was chosen)."""
    branches = [branch_dir(out_dir, lv) for lv in top_levels(out_dir, levels)]
    return [(TRUNK_DIR, TRUNK, trunk_dir(out_dir))] + [(b.name, BRANCH, b) for b in branches]


def plan(spec: TrainSpec, levels: list[int] | tuple[int, ...]) -> BranchPlan:
    """The trunk and branches of `spec` (its schedule, cooldown and warmup) at `levels` (samples seen).

    The warmup fraction is of the largest level's steps and is then fixed in samples for every
    branch. Raises UserInputError on levels not increasing or a level whose cool-down would start
    inside the warmup.
    """
    levels = tuple(levels)
    if not levels or any(isinstance(v, bool) or not isinstance(v, int) for v in levels):
        raise UserInputError(f"levels must be a list of sample counts, e.g. 12000,48000,192000; got {list(levels)}")
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise UserInputError(f"levels must be increasing, got {list(levels)}")
    if spec.schedule != "const-cooldown":
        raise UserInputError(f"levels need --schedule const-cooldown (got {spec.schedule!r})")
    top = spec.replace(samples_seen=levels[-1], epoch_ends=None)
    warmup = spec.warmup_samples if spec.warmup_samples is not None else top.warmup_steps * spec.batch_size
    branches = []
    for level in levels:
        starts = _cooldown_start(spec, level)
        if starts < warmup // spec.batch_size or starts < 1:
            raise UserInputError(f"level {level} is below the warmup: its cool-down would start at step {starts}, "
                                 f"before the warmup ends (step {warmup // spec.batch_size}); drop that level "
                                 f"or shorten the warmup")
        branches.append(spec.replace(samples_seen=level, warmup_samples=warmup, epoch_ends=None))
    starts = [b.cooldown_start_step * b.batch_size for b in branches]
    if any(b <= a for a, b in zip(starts, starts[1:])):
        raise UserInputError(f"levels {list(levels)} are too close: two branches would start at the same step")
    trunk = spec.replace(schedule="const", samples_seen=starts[-1], epochs=len(levels), epoch_ends=tuple(starts),
                         warmup_samples=warmup)
    return BranchPlan(trunk=trunk, levels=levels, branches=tuple(branches))


def _cooldown_start(spec: TrainSpec, level: int) -> int:
    steps = level // spec.batch_size
    return steps - max(1, round(spec.cooldown * steps))


def train_branches(spec: TrainSpec, levels, out_dir: str | Path, *, resume: bool = True,
                   progress: bool = True, finish_by: float | None = None, elastic: bool = False) -> dict:
    """Train the trunk, then every branch (longest first), into `out_dir`; returns branches.json.

    Each part is an ordinary run folder, so a kill anywhere resumes where it stopped: the trunk
    from its last checkpoint, a branch from its own last checkpoint or else from the trunk's.
    `elastic`: the largest level is chosen while training so that training ends by `finish_by`
    (a time.time() value; None keeps the planned level), see the module's docstring.
    """
    p = plan(spec, levels)
    if elastic and len(p.levels) >= 2:
        return _train_elastic(p, spec, Path(out_dir), resume, progress, finish_by)
    trunk, results = _trunk_and_branches(p, Path(out_dir), resume, progress)
    return _summarise(Path(out_dir), p.levels, trunk, results, p.samples_trained)


def _trunk_and_branches(p: BranchPlan, out: Path, resume: bool, progress: bool):
    """(trunk result, {level index: branch result}): the trunk, then its branches longest first."""
    from clipscale.train import train

    trunk = train(p.trunk, trunk_dir(out), resume=resume, progress=progress)
    results: dict[int, TrainResult] = {}
    for i in sorted(range(len(p.levels)), key=lambda i: -p.levels[i]):
        start = RunFolder(trunk.out_dir).checkpoint(p.trunk_epoch(i))
        results[i] = train(p.branches[i], branch_dir(out, p.levels[i]), resume=resume, progress=progress,
                           init_from=start)
    return trunk, results


def _summarise(out: Path, levels, trunk: TrainResult, results: dict[int, TrainResult], samples_trained: int,
               **extra) -> dict:
    summary = {"trunk": TRUNK_DIR, "samples_trained": samples_trained, "samples_runs": sum(levels),
               "trunk_wall_s": trunk.wall_s,
               "branches": [{"level": levels[i], "folder": results[i].out_dir.name,
                             "study_point": f"{results[i].out_dir.name}/{results[i].extra['study_point']}",
                             "wall_s": results[i].wall_s} for i in range(len(levels))], **extra}
    atomic_write_json(out / BRANCHES_FILE, summary)
    return summary


TOP_STEPS_PER_OCTAVE = 16  # an elastic top level is the planned one times 2^(i/16)
TOP_MAX_FACTOR = 4.0       # ... and at most 4x the planned one (a deadline far off is not a reason to run away)


def elastic_top(spec: TrainSpec, planned: int, after: int, seconds: float, samples_per_s: float) -> int:
    """The top level (samples seen) whose branch, trained from the trunk's checkpoint at sample
    `after`, takes about `seconds` at `samples_per_s`: the step of planned x 2^(i/16) nearest to
    that, at most TOP_MAX_FACTOR x planned, and at least the smallest step whose cool-down starts
    after `after` (when even that does not fit, the level is the smallest one possible)."""
    target = after + max(0.0, seconds) * samples_per_s
    b = spec.batch_size
    steps = {max(b, round(planned * 2 ** (i / TOP_STEPS_PER_OCTAVE) / b) * b)
             for i in range(-8 * TOP_STEPS_PER_OCTAVE, round(TOP_STEPS_PER_OCTAVE * math.log2(TOP_MAX_FACTOR)) + 1)}
    valid = sorted(lv for lv in steps if _cooldown_start(spec, lv) * b > after)
    return min(valid, key=lambda lv: (abs(lv - target), lv))


def top_levels(out_dir: str | Path, levels) -> tuple[int, ...]:
    """The levels a cool-down grid in `out_dir` trained (or is training): `levels` with the top one
    replaced by the elastic choice recorded there, if any."""
    path = Path(out_dir) / TOP_FILE
    if not path.exists():
        return tuple(levels)
    return (*tuple(levels)[:-1], int(json.loads(path.read_text())["level"]))


def _train_elastic(p: BranchPlan, spec: TrainSpec, out: Path, resume: bool, progress: bool,
                   finish_by: float | None) -> dict:
    """The trunk up to the last fixed branch start, the fixed branches, then the top level chosen
    from this run's measured speed (recorded in top_level.json before it is trained)."""
    from clipscale.train import train

    base = spec.replace(warmup_samples=p.trunk.warmup_samples)  # the full grid's warmup, in samples
    fixed = plan(base, p.levels[:-1])
    trunk, results = _trunk_and_branches(fixed, out, resume, progress)
    after = fixed.trunk.samples_seen
    record = _decide_top(out / TOP_FILE, base, p.levels[-1], after, finish_by, [trunk, *results.values()])
    top = record["level"]
    cool = _cooldown_start(base, top) * base.batch_size
    branch = base.replace(samples_seen=top, epochs=2, epoch_ends=(cool, top))  # a checkpoint where it cools down
    start = RunFolder(trunk.out_dir).checkpoint(len(fixed.levels))
    results[len(fixed.levels)] = train(branch, branch_dir(out, top), resume=resume, progress=progress,
                                       init_from=start)
    levels = (*fixed.levels, top)
    trained = fixed.samples_trained + top - after
    return _summarise(out, levels, trunk, results, trained, elastic_top=record)


def _decide_top(path: Path, spec: TrainSpec, planned: int, after: int, finish_by: float | None,
                parts: list[TrainResult]) -> dict:
    """top_level.json: read back when a resumed run decided before, else decided now and written.
    Under torchrun, rank 0 decides and every rank trains its choice."""
    from clipscale.train import distributed

    dist = distributed.setup()
    record = _read_or_decide(path, spec, planned, after, finish_by, parts) if dist.is_main else None
    return distributed.broadcast_object(dist, record)


def _read_or_decide(path: Path, spec: TrainSpec, planned: int, after: int, finish_by: float | None,
                    parts: list[TrainResult]) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    timed = [r for r in parts if r.samples_per_s]
    samples = [r.extra.get("samples_trained", r.samples_seen) for r in timed]  # a trunk: all it saw
    steps_s = [n / r.samples_per_s for n, r in zip(samples, timed)]
    speed = sum(samples) / sum(steps_s) if timed else 0.0
    # What a branch costs besides its steps (building the model, loading its start): the top pays it once.
    extra = [r.wall_s - t for r, t in zip(timed, steps_s) if r is not parts[0]]
    overhead = max(0.0, sum(extra) / len(extra)) if extra else 0.0
    if finish_by is None or not speed:
        record = {"level": planned, "planned": planned, "why": "no deadline: the planned level", "from_samples": after}
    else:
        left = finish_by - time.time() - overhead
        level = elastic_top(spec, planned, after, left, speed)
        record = {"level": level, "planned": planned, "why": "chosen to end by the deadline",
                  "seconds_left": round(left, 1), "samples_per_s": round(speed, 1), "overhead_s": round(overhead, 2),
                  "from_samples": after}
    atomic_write_json(path, record)
    return record


# ---------------------------------------------------------------- one branch at a time (an adaptive study)

#: the fields in which a shorter trunk of a grid differs from a longer one of the same grid
_TRUNK_LENGTH = ("samples_seen", "epochs", "epoch_ends", "num_threads")


def level_plan(spec: TrainSpec, levels, level: int) -> BranchPlan:
    """The trunk and branches of the grid `levels` up to `level`: the trunk as far as `level`'s
    branch needs (a checkpoint at every smaller level's start too), the warmup the whole grid's. Its
    last branch is exactly the grid's branch of `level` (same spec, same bits)."""
    levels = tuple(levels)
    if level not in levels:
        raise UserInputError(f"level {level} is not one of the grid's levels {list(levels)}")
    whole = plan(spec, levels)
    base = spec.replace(warmup_samples=whole.trunk.warmup_samples)
    return plan(base, levels[: levels.index(level) + 1])


def train_trunk_to(spec: TrainSpec, levels, level: int, out_dir: str | Path, *, progress: bool = False) -> TrainResult:
    """Train the trunk of the cool-down grid `levels` in `out_dir` as far as `level`'s branch needs.

    A shorter trunk of the same grid trained there before is extended in place: no step before a
    cool-down depends on the level (constant lr, warmup in samples, batches a function of the step),
    so resuming its last checkpoint under the longer spec gives the longer trunk bit for bit. A longer
    trunk already there is kept (and finished if it was interrupted). Callers that extend one trunk
    from several processes hold a lock around this call."""
    from clipscale.train import train

    want = level_plan(spec, levels, level).trunk
    folder = RunFolder(trunk_dir(out_dir))
    if folder.spec_path.exists():
        have = TrainSpec.from_dict(json.loads(folder.spec_path.read_text()))
        a, b = have.to_dict(), want.to_dict()
        if any(a.get(k) != b.get(k) for k in set(a) | set(b) if k not in _TRUNK_LENGTH):
            raise UserInputError(f"{folder.root} holds the trunk of another grid; choose a new --out or remove it")
        mine, theirs = tuple(want.epoch_ends), tuple(have.epoch_ends or ())
        if theirs[: len(mine)] == mine:
            want = have.replace(num_threads=spec.num_threads)  # as long or longer: train (finish) it as it is
        elif mine[: len(theirs)] == theirs:  # shorter: the longer spec resumes its last checkpoint
            folder.done_path.unlink(missing_ok=True)  # first: a kill in between leaves it unfinished, not done
            atomic_write_json(folder.spec_path, want.to_dict())
        else:
            raise UserInputError(f"{folder.root} holds a trunk with other branch points {list(theirs)}; "
                                 f"choose a new --out or remove it")
    return train(want, folder.root, resume=True, progress=progress)


def train_branch(spec: TrainSpec, levels, level: int, out_dir: str | Path, *, progress: bool = False) -> TrainResult:
    """Train the cool-down branch of `level` from its trunk's checkpoint at the branch's start (the
    trunk must reach it: train_trunk_to)."""
    from clipscale.train import train

    p = level_plan(spec, levels, level)
    start = RunFolder(trunk_dir(out_dir)).checkpoint(p.trunk_epoch(len(p.levels) - 1))
    if not start.exists():
        raise UserInputError(f"{start} not found: train the trunk as far as level {level} first (train_trunk_to)")
    return train(p.branches[-1], branch_dir(out_dir, level), resume=True, progress=progress, init_from=start)
