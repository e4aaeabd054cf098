"""Two study folders as one results table with a recipe column: what `clipscale compare STUDY_A
STUDY_B` compares. Each folder holds results.csv (the study points) and study.json (its spec); the
recipe is named by its folder's name (as typed on the command line), or by the spec's name when
both folders share one."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from clipscale.errors import UserInputError
from clipscale.study.one_run import load_study
from clipscale.study.spec import StudySpec
from clipscale.study.store import Store

RECIPE_COL = "recipe"


@dataclasses.dataclass(frozen=True)
class StudyPair:
    """Both studies' results.csv rows, with RECIPE_COL = `names[0]` or `names[1]`; the task they
    share; the law method their specs share ([fit] method), or None when they differ."""

    table: pd.DataFrame
    names: tuple[str, str]
    task: str
    method: str | None


def study_task(spec: StudySpec) -> str:
    """What a study measures: its [fit] dataset, else the tasks it evaluates ('' when the default set)."""
    return spec.fit.dataset or ", ".join(sorted(spec.eval.tasks))


def load_pair(dir_a: str | Path, dir_b: str | Path) -> StudyPair:
    """Read two study folders; UserInputError when one is not a study folder or their tasks differ."""
    dirs = [Path(dir_a), Path(dir_b)]
    for d in dirs:
        if not Store(d).spec_path.is_file():
            raise UserInputError(f"{d} is not a study folder (no {Store(d).spec_path.name}); pass two folders written by "
                                 "`clipscale study run`, or one results CSV with --by, --a and --b")
    specs = [load_study(d) for d in dirs]
    tasks = [study_task(s) for s in specs]
    if tasks[0] != tasks[1]:
        raise UserInputError(f"the studies measure different tasks ({dirs[0].name}: {tasks[0] or 'the default set'}, "
                             f"{dirs[1].name}: {tasks[1] or 'the default set'}); compare two studies of one task")
    names = _names(dirs, specs)
    frames = []
    for d, name in zip(dirs, names):
        path = Store(d).results_path
        if not path.is_file():
            raise UserInputError(f"{path} not found: the study has no results yet; finish it with "
                                 "`clipscale study run` first")
        frames.append(pd.read_csv(path).assign(**{RECIPE_COL: name}))
    methods = {s.fit.method for s in specs}
    return StudyPair(table=pd.concat(frames, ignore_index=True), names=names, task=tasks[0],
                     method=methods.pop() if len(methods) == 1 else None)


def _names(dirs: list[Path], specs: list[StudySpec]) -> tuple[str, str]:
    """The folders' names when they differ, else the specs' names, else the folders' paths."""
    for a, b in ((dirs[0].name, dirs[1].name), (specs[0].name, specs[1].name),
                 (str(dirs[0].resolve()), str(dirs[1].resolve()))):
        if a != b:
            return a, b
    raise UserInputError(f"{dirs[0]} is given twice; pass two different study folders")
