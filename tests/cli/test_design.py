"""`clipscale design replay`: its files, its summary, its defaults, and one line + exit 2 for bad input."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.cli.design import register
from clipscale.design.replay import ReplaySettings
from clipscale.design.strategy import DesignSettings

from design.world import make_table  # the design tests' synthetic grid (tests/ is on the path)


@pytest.fixture
def results(tmp_path) -> Path:
    path = tmp_path / "results.csv"
    make_table(noise=0.01).to_csv(path, index=False)
    return path


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_replay_writes_its_files_and_prints_the_averages(results, tmp_path, capsys):
    code, out, err = _run(capsys, "design", "replay", results, "--out", tmp_path / "r", "--draws", 3,
                          "--data-col", "unique_samples", "--quiet")
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "r" / "replay.csv")
    assert sorted(frame["strategy"].unique()) == ["adaptive", "full", "random"]
    assert (tmp_path / "r" / "chosen.csv").is_file() and (tmp_path / "r" / "decisions.jsonl").is_file()
    assert "adaptive / full:" in out and "adaptive / random:" in out


def test_every_default_is_the_dataclass_default():
    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    replay = sub.choices["design"]._subparsers._group_actions[0].choices["replay"]
    args = vars(replay.parse_args(["t.csv", "--out", "d"]))
    replay_defaults = {f.name: f.default for f in dataclasses.fields(ReplaySettings)}
    design_defaults = {f.name: f.default for f in dataclasses.fields(DesignSettings)}
    for name in ("budget_frac", "holdout_top_frac", "draws", "seed", "compute_col", "cost_col", "size_col",
                 "samples_col", "data_col"):
        assert args[name] == replay_defaults[name], name
    assert tuple(args["strategies"]) == replay_defaults["strategies"]
    assert (args["method"], args["batch"], args["tolerance"], args["joint"]) == (
        design_defaults["method"], design_defaults["batch"], design_defaults["tolerance_pct"], design_defaults["joint"])


@pytest.mark.parametrize("extra, message", [
    (["--budget-frac", "0"], "--budget-frac must be a fraction in (0, 1]"),
    (["--budget-frac", "1.5"], "--budget-frac must be a fraction in (0, 1]"),
    (["--budget-frac", "0.001", "--data-col", "unique_samples"], "below the seed design's cost"),
    (["--strategies", "greedy"], "unknown strategy 'greedy'"),
    (["--method", "nope"], "unknown law method 'nope'"),
    (["--holdout-top-frac", "1"], "--holdout-top-frac must be a fraction in (0, 1)"),
])
def test_bad_input_is_one_line_and_exit_2(results, tmp_path, capsys, extra, message):
    code, out, err = _run(capsys, "design", "replay", results, "--out", tmp_path / "r", "--quiet", *extra)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("clipscale: error: ") and message in err
    assert not (tmp_path / "r").exists()


def test_a_joint_law_on_one_model_size_is_refused(tmp_path, capsys):
    path = tmp_path / "one.csv"
    make_table(sizes=(4.0,)).to_csv(path, index=False)
    code, _, err = _run(capsys, "design", "replay", path, "--out", tmp_path / "r", "--quiet", "--joint")
    assert code == 2 and err.count("\n") == 1 and "not identifiable" in err


def test_a_missing_table_is_one_line(tmp_path, capsys):
    code, _, err = _run(capsys, "design", "replay", tmp_path / "nope.csv", "--out", tmp_path / "r")
    assert code == 2 and err.count("\n") == 1 and "not found" in err
