"""`clipscale fit --method joint`, the fits file and `clipscale plan`."""
import json

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.laws import _joint_opt as J
from clipscale.laws.joint_table import fit_joint_table, load_fits

THETA = np.array([np.log(400), np.log(2000), np.log(1.8), 0.34, 0.37])


def _table(tmp_path, noise=0.005):
    rng = np.random.default_rng(0)
    archs = {"s": 1e7, "m": 1e8, "l": 1e9, "xl": 1e10}
    rows = []
    for name, n in archs.items():
        for d in np.logspace(9, 12, 6):
            loss = float(np.exp(J.log_law(THETA, np.log(n), np.log(d)) + rng.normal(0, noise)))
            rows.append({"arch": name, "params": n, "samples_seen": d, "flops_per_sample": 6 * n, "loss": loss})
    path = tmp_path / "runs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cli_fit_joint_json_backtest_and_plan(tmp_path, capsys):
    path, fits = _table(tmp_path), tmp_path / "fits.json"
    rc = main(["fit", str(path), "--method", "joint", "--size-col", "params", "--data-col", "samples_seen",
               "--error-col", "loss", "--cost-col", "flops_per_sample", "--n-boot", "50",
               "--holdout-top-frac", "0.2", "--json", "--save-fits", str(fits)])
    assert rc == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert {"floor", "A", "B", "size_exp", "data_exp", "objective", "backtest_mae"} <= set(row)
    assert row["size_exp"] == pytest.approx(0.34, abs=0.05) and row["data_exp"] == pytest.approx(0.37, abs=0.05)
    assert row["backtest_n_heldout"] == 5 and row["backtest_mae"] < 0.05
    entry = load_fits(fits)[0]
    assert entry["fit"].n_points == 24 and entry["cost"](1e9) == pytest.approx(6e9)
    rc = main(["plan", "--fit", str(fits), "--compute", "1e20", "1e24"])
    out = capsys.readouterr().out
    assert rc == 0 and "nearest trained architecture" in out
    assert "extrapolation: the budget lies" in out.split("budget 1e+24")[1]
    assert "extrapolation" not in out.split("budget 1e+24")[0]


def test_bad_inputs_are_one_line(tmp_path, capsys):
    path = _table(tmp_path)
    df = pd.read_csv(path)
    df["params"] = df["arch"]
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    assert main(["fit", str(bad), "--method", "joint", "--size-col", "params", "--data-col", "samples_seen",
                 "--error-col", "loss"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not numeric" in err
    assert main(["fit", str(path), "--method", "joint", "--error-col", "loss"]) == 2
    assert "--size-col" in capsys.readouterr().err
    assert main(["plan", "--fit", str(tmp_path / "none.json"), "--compute", "1e12"]) == 2
    assert "fits file not found" in capsys.readouterr().err


def test_non_positive_data_fails_the_group(tmp_path):
    df = pd.read_csv(_table(tmp_path))
    df.loc[3, "samples_seen"] = 0
    out, entries = fit_joint_table(df, size_col="params", data_col="samples_seen", error_col="loss", n_boot=0)
    assert out["status"].iloc[0] == "failed" and "data size D must be finite and > 0" in out["message"].iloc[0]
    assert entries == []
