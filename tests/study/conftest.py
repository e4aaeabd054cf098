"""Tiny real studies: the smallest ladder model, a few hundred pairs, one cheap evaluation task."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TINY = """
name = "tiny"
out = "{out}"
[axes]
model = {models}
data_size = [256]
samples_seen = {samples}
lr = {lr}
batch_size = [64]
[train]
epochs = {checkpoints}
levels_from = "{levels_from}"
[eval]
tasks = ["embedded/shape"]
limit = 64
[fit]
method = "ls"
holdout_top = 1
[launch]
jobs = 2
threads = 1
{extra}
"""


def tiny_spec(tmp: Path, *, models=("ladder-xs",), samples=(256, 512), lr=(2e-3,), checkpoints=2,
              levels_from="runs", extra="", name="tiny.toml") -> Path:
    """Write a tiny study spec into `tmp`; its output folder is tmp/out."""
    path = tmp / name
    path.write_text(TINY.format(out=tmp / "out", models=list(models), samples=list(samples), lr=list(lr),
                                checkpoints=checkpoints, levels_from=levels_from, extra=extra).replace("'", '"'))
    return path


def cli(*args: str, timeout: float = 600, cwd=None) -> subprocess.CompletedProcess:
    """Run `python -m clipscale ARGS` as a real process (in folder `cwd`)."""
    return subprocess.run([sys.executable, "-m", "clipscale", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


@pytest.fixture
def run_cli():
    """`run_cli(*args)`: `python -m clipscale ARGS` as a real process."""
    return cli


@pytest.fixture
def tiny(tmp_path):
    return lambda **kw: tiny_spec(tmp_path, **kw)
