"""Run folders as a user finds them: which checkpoints a path stands for, and what its run says.

clipscale's training writes three kinds of folder (clipscale.train):
- a plain run: spec.json, checkpoints/epoch_N.pt (a branch folder, branch_s<L>/, is one too);
- a cool-down run: trunk/ (a plain run at constant lr) and one branch_s<L>/ per samples-seen level,
  each branch's last checkpoint being the annealed model of that level (a study's point);
- a checkpoint file inside either, RUN/checkpoints/epoch_N.pt.
Every function here reads JSON only (no torch): the command line calls them to check its input.
The run's spec names the architecture (`model`) and the embedded world (`world`, absent = full),
so a checkpoint is evaluated in the world it was trained in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clipscale.errors import DataError, NotFoundError, UserInputError
from clipscale.train.branches import BRANCH_PREFIX, TRUNK  # a cool-down run's layout (no torch import)
from clipscale.train.run import CHECKPOINT_DIR, DONE_FILE, SPEC_FILE  # a run folder's layout



@dataclass(frozen=True)
class Point:
    """One checkpoint with its run's facts. world: the run's embedded world, None when the file has
    no clipscale run folder (a zoo or foreign checkpoint). meta: results-row facts (samples_seen,
    epoch, upstream_dataset, name) and, for a cool-down branch, its `level`."""

    arch: str | None
    checkpoint: Path
    world: str | None
    meta: dict[str, Any] = field(default_factory=dict)


def read_spec(run_dir: Path) -> dict:
    """A run folder's spec.json as a dict ({} when absent)."""
    path = Path(run_dir) / SPEC_FILE
    if not path.is_file():
        return {}
    try:
        spec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} cannot be read ({exc}); the run folder is damaged") from None
    if not isinstance(spec, dict):
        raise DataError(f"{path} holds no JSON object; the run folder is damaged")
    return spec


def world_of(spec: dict) -> str | None:
    """The embedded world a run's spec records: `world`, else `full` (the default, left out of the
    spec), None for a spec-less folder."""
    return (spec.get("world") or "full") if spec else None


def is_cooldown_run(path: Path) -> bool:
    """A folder with a trunk/ and branch_s<L>/ folders (clipscale.train.branches)."""
    return (path / TRUNK).is_dir() and any(path.glob(f"{BRANCH_PREFIX}*"))


def epochs(run_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of a plain run's checkpoints/epoch_N.pt, by epoch; NotFoundError when none."""
    found = []
    ckdir = run_dir / CHECKPOINT_DIR
    for p in ckdir.glob("epoch_*.pt") if ckdir.is_dir() else ():
        stem = p.stem.split("_", 1)[1]
        if stem.isdigit():
            found.append((int(stem), p))
    if not found:
        hint = ("it is a cool-down run's trunk: pass the run folder above it (its branches are the study "
                "points)" if run_dir.name == TRUNK else "pass a training run folder (RUN/checkpoints/epoch_N.pt)")
        raise NotFoundError(f"no checkpoints/epoch_N.pt under {run_dir}; {hint}")
    return sorted(found)


def branches(run_dir: Path) -> dict[int, Path]:
    """Finished branches of a cool-down run by level (samples seen): level -> branch folder."""
    out = {}
    for folder in sorted(run_dir.glob(f"{BRANCH_PREFIX}*")):
        if folder.is_dir() and (folder / DONE_FILE).is_file():
            level = read_spec(folder).get("samples_seen") or folder.name[len(BRANCH_PREFIX):]
            out[int(level)] = folder
    if not out:
        raise NotFoundError(f"{run_dir} is a cool-down run with no finished branch yet; let it finish "
                            f"(`clipscale train --resume`, `clipscale study run`) or pass {run_dir / TRUNK}")
    return dict(sorted(out.items()))


def _arch(spec: dict, arch: str | None, where: Path) -> str:
    arch = arch or spec.get("model") or spec.get("arch")
    if not arch:
        what = f"{where}/spec.json names no model" if spec else f"{where} has no spec.json naming its model"
        raise DataError(f"{what}; pass --arch")
    return arch


def run_facts(run_dir: Path, spec: dict) -> dict:
    """Row facts of a training run from its spec: upstream data (schema.run_upstream_dataset), name."""
    from clipscale.schema import run_upstream_dataset

    return {"upstream_dataset": run_upstream_dataset(spec.get("train_data"), spec.get("data_size")),
            "name": spec.get("name") or Path(run_dir).name}


def _branch_point(run_dir: Path, level: int, folder: Path, arch: str | None) -> Point:
    spec = read_spec(folder)
    epoch, last = epochs(folder)[-1]
    meta = {**run_facts(run_dir, spec), "samples_seen": float(level), "epoch": epoch, "level": level,
            "branch": folder.name}
    return Point(_arch(spec, arch, folder), last, world_of(spec), meta)


def study_points(path: str | Path, *, level: int | None = None, arch: str | None = None,
                 every_epoch: bool = True) -> list[Point]:
    """The checkpoints a path stands for, as `eval --run` evaluates them: a plain run's epochs (or
    its last, without `every_epoch`), a cool-down run's branches (each one's last checkpoint, or the
    branch of `level`), a checkpoint file itself."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path} not found; pass a run folder or a checkpoint file")
    if path.is_file():
        return [checkpoint_point(path, arch)]
    if is_cooldown_run(path):
        found = branches(path)
        if level is not None:
            if level not in found:
                raise NotFoundError(f"{path} has no finished branch at level {level}; valid choices: "
                                    f"{', '.join(map(str, found))} (samples seen)")
            found = {level: found[level]}
        return [_branch_point(path, lv, folder, arch) for lv, folder in found.items()]
    if level is not None:
        raise UserInputError(f"--level picks a branch of a cool-down run; {path} is a plain run folder: drop --level")
    spec = read_spec(path)
    arch = _arch(spec, arch, path)
    files = epochs(path) if every_epoch else epochs(path)[-1:]
    return [Point(arch, p, world_of(spec), {**run_facts(path, spec), "epoch": e}) for e, p in files]


def final_point(path: str | Path, *, level: int | None = None, arch: str | None = None) -> Point:
    """The one checkpoint a folder stands for (finetune, classify): a plain run's last epoch, a
    cool-down run's largest level (or `level`), a file itself."""
    points = study_points(path, level=level, arch=arch, every_epoch=False)
    return points[-1]


def checkpoint_point(path: Path, arch: str | None = None) -> Point:
    """A checkpoint file with its run's facts when it lies in RUN/checkpoints/ (arch and world from
    RUN/spec.json); otherwise only what was given."""
    run_dir = path.parent.parent if path.parent.name == CHECKPOINT_DIR else None
    spec = read_spec(run_dir) if run_dir is not None else {}
    if not spec:
        return Point(arch, path, None, {})
    stem = path.stem.split("_", 1)[-1]
    meta = {**run_facts(run_dir, spec), **({"epoch": int(stem)} if stem.isdigit() else {})}
    if run_dir.name.startswith(BRANCH_PREFIX) and stem.isdigit() and int(stem) == spec.get("epochs"):
        meta["samples_seen"] = float(spec["samples_seen"])  # a branch's last checkpoint stands for its level
    return Point(arch or spec.get("model") or spec.get("arch"), path, world_of(spec), meta)
