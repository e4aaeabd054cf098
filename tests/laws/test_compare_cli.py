"""`clipscale compare`: text, JSON, files, two study folders, and one line with exit 2 for bad input."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clipscale._io import atomic_write_json, run_metadata
from clipscale.cli import main
from clipscale.study.spec import spec_from_dict


def _rows(alpha, e0, n, seed, **cols) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(10.0, 12.5, n))
    err = 10.0 ** (np.log10(e0) + alpha * (x - 10.0) + rng.normal(0.0, 0.01, n))
    return pd.DataFrame({"gmacs_total": 10.0 ** x, "acc1": 1.0 - err, "upstream_dataset": "LAION-2B", **cols})


@pytest.fixture()
def table(tmp_path):
    df = pd.concat([_rows(-0.15, 0.5, 12, 1, recipe="fast", downstream_dataset="imagenet1k"),
                    _rows(-0.08, 0.4, 12, 2, recipe="slow", downstream_dataset="imagenet1k"),
                    _rows(-0.10, 0.5, 12, 3, recipe="fast", downstream_dataset="cifar10"),
                    _rows(-0.10, 0.5, 2, 4, recipe="slow", downstream_dataset="cifar10")], ignore_index=True)
    path = tmp_path / "results.csv"
    df.to_csv(path, index=False)
    return path


def _study(folder, name, task, alpha, e0, seed):
    spec = spec_from_dict({"name": name, "axes": {"model": ["ladder-xs"], "data_size": [256], "samples_seen": [4096]},
                           "eval": {"tasks": [task]}, "fit": {"dataset": task, "method": "ls"}})
    folder.mkdir()
    atomic_write_json(folder / "study.json", run_metadata(spec.to_dict()))
    _rows(alpha, e0, 10, seed, downstream_dataset=task).to_csv(folder / "results.csv", index=False)
    return folder


def test_text_gives_the_verdict_first_and_notes_what_was_not_compared(table, capsys):
    assert main(["compare", str(table), "--by", "recipe", "--a", "fast", "--b", "slow", "--method", "ls",
                 "--n-boot", "200"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "== imagenet1k"
    assert lines[1].startswith("On imagenet1k: fast's error falls faster with compute than slow's")
    assert any(line.startswith("  crossover: ") for line in lines)
    assert "not compared: recipe=slow on cifar10 has 2 run(s)" in err


def test_json_and_out_files(table, tmp_path, capsys):
    out_dir = tmp_path / "cmp"
    assert main(["compare", str(table), "--by", "recipe", "--a", "fast", "--b", "slow", "--method", "ls",
                 "--n-boot", "200", "--at", "1e12", "--json", "--out", str(out_dir)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["downstream_dataset"] for r in records] == ["imagenet1k"]
    r = records[0]
    assert r["steeper"] == "a" and r["p_steeper"] > 0.95 and r["crossover"]["lo"] < r["crossover"]["compute"]
    assert [p["where"] for p in r["p_a_better"]] == ["given", "largest trained", "10x largest trained"]
    assert json.loads((out_dir / "compare.json").read_text()) == records
    csv = pd.read_csv(out_dir / "compare.csv")
    assert len(csv) == 3 and set(csv["where"]) == {"given", "largest trained", "10x largest trained"}
    assert (out_dir / "figures" / "compare_imagenet1k.png").stat().st_size > 10_000
    page = (out_dir / "compare.html").read_text()
    assert "data:image/png;base64," in page and "fast vs slow" in page


def test_two_study_folders(tmp_path, capsys):
    a = _study(tmp_path / "lr1e-3", "demo", "embedded/shape", -0.12, 0.6, 1)
    b = _study(tmp_path / "lr2e-3", "demo", "embedded/shape", -0.06, 0.5, 2)
    assert main(["compare", str(a), str(b), "--n-boot", "200", "--json"]) == 0
    (r,) = json.loads(capsys.readouterr().out)
    assert (r["a"], r["b"], r["method"]) == ("lr1e-3", "lr2e-3", "ls")  # folder names; the specs' method
    assert r["downstream_dataset"] == "embedded/shape" and r["steeper"] == "a"


def test_bad_input_is_one_line_and_exit_2(table, tmp_path, capsys, cli_fails):
    base = ["compare", str(table)]
    cli_fails(base + ["--by", "nope", "--a", "x", "--b", "y"], "--by column 'nope' is not in the table",
           "recipe")
    cli_fails(base + ["--by", "recipe", "--a", "fast", "--b", "medium"],
           "--b 'medium' is not a value of column 'recipe'", "valid choices: fast, slow")
    cli_fails(base + ["--by", "recipe", "--a", "fast", "--b", "slow", "--method", "ls",
                           "--where", "downstream_dataset==cifar10"], "has 2 run(s)", "needs at least 3")
    for bad in ("-1", "0", "abc", "inf"):
        cli_fails(base + ["--by", "recipe", "--a", "fast", "--b", "slow", "--at", bad],
               f"--at '{bad}' is not a positive number")
    cli_fails(base + ["--by", "recipe"], "needs --by COL --a VALUE --b VALUE", "missing --a, --b")
    a = _study(tmp_path / "s1", "one", "embedded/shape", -0.1, 0.5, 1)
    b = _study(tmp_path / "s2", "two", "embedded/objects", -0.1, 0.5, 2)
    cli_fails(["compare", str(a), str(b)], "different tasks", "embedded/shape", "embedded/objects")
    cli_fails(["compare", str(a), str(table)], "is not a study folder")
