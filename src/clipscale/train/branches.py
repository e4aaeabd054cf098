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
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clipscale._io import atomic_write_json
from clipscale.errors import UserInputError
from clipscale.train.run import TrainResult
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


def branch_dir(out_dir: str | Path, level: int) -> Path:
    return Path(out_dir) / f"branch_s{level}"


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
                   progress: bool = True) -> dict:
    """Train the trunk, then every branch (longest first), into `out_dir`; returns branches.json.

    Each part is an ordinary run folder, so a kill anywhere resumes where it stopped: the trunk
    from its last checkpoint, a branch from its own last checkpoint or else from the trunk's.
    """
    from clipscale.train import train

    p = plan(spec, levels)
    out = Path(out_dir)
    trunk = train(p.trunk, out / "trunk", resume=resume, progress=progress)
    results: dict[int, TrainResult] = {}
    for i in sorted(range(len(p.levels)), key=lambda i: -p.levels[i]):
        start = trunk.out_dir / "checkpoints" / f"epoch_{p.trunk_epoch(i)}.pt"
        results[i] = train(p.branches[i], branch_dir(out, p.levels[i]), resume=resume, progress=progress,
                           init_from=start)
    summary = {"trunk": "trunk", "samples_trained": p.samples_trained, "samples_runs": sum(p.levels),
               "trunk_wall_s": trunk.wall_s,
               "branches": [{"level": p.levels[i], "folder": results[i].out_dir.name,
                             "study_point": f"{results[i].out_dir.name}/{results[i].extra['study_point']}",
                             "wall_s": results[i].wall_s} for i in range(len(p.levels))]}
    atomic_write_json(out / "branches.json", summary)
    return summary
