"""fit_table and `clipscale fit` on long and wide tables, filters, groups and bad input."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.errors import DataError
from clipscale.laws import Holdout, fit_table, prepare_table


def long_table(n=12, seed=0):
    rng = np.random.default_rng(seed)
    c = np.logspace(9, 13, n)
    rows = []
    for ds, coef in (("imagenet1k", 5.0), ("cars", 9.0)):
        for up in ("LAION-2B", "CLIP-WIT"):
            err = coef * c ** -0.12 * 10 ** rng.normal(0, 0.01, n)
            for i in range(n):
                rows.append({"arch": f"m{i}", "gmacs_total": c[i], "upstream_dataset": up,
                             "downstream_dataset": ds, "acc1": 1 - err[i], "name": f"run{i}"})
    return pd.DataFrame(rows)


def wide_table():
    """Shaped like OpenCLIP's published results: one column per dataset, compute as 'FLOPs (B)'."""
    flops = np.logspace(1, 3, 8)
    df = pd.DataFrame({"name": [f"ViT-{i}" for i in range(8)], "pretrained": "laion2b",
                       "params (M)": np.linspace(100, 2000, 8), "FLOPs (B)": flops,
                       "ImageNet 1k": 1 - 0.9 * flops ** -0.2, "MSCOCO": 1 - 0.8 * flops ** -0.1})
    # OpenCLIP's table really has a corrupted average for one row (coca_ViT-L-14: '030282.63...').
    df["Average perf."] = 0.6
    df.loc[3, "Average perf."] = 30282.63
    return df


def test_groups_are_derived_and_each_gets_a_law():
    fits = fit_table(long_table(), n_boot=50)
    assert list(zip(fits["downstream_dataset"], fits["group"])) == [
        ("cars", "openai"), ("cars", "openclip"), ("imagenet1k", "openai"), ("imagenet1k", "openclip")]
    assert (fits["status"] == "ok").all()
    assert np.allclose(fits["alpha"], -0.12, atol=0.02)
    assert {"alpha_lo", "alpha_hi", "coef_lo", "coef_hi", "floor", "r2", "n_points"} <= set(fits.columns)


def test_where_filters_and_backtest_columns():
    fits = fit_table(long_table(), where=["downstream_dataset==imagenet1k", "gmacs_total>=1e10"],
                     method="ls", n_boot=20, holdout=Holdout(top=2))
    assert set(fits["downstream_dataset"]) == {"imagenet1k"}
    assert (fits["n_points"] == (np.logspace(9, 13, 12) >= 1e10).sum()).all()
    assert (fits["backtest_n_heldout"] == 2).all() and (fits["backtest_mae_pct"] < 2).all()
    above = fit_table(long_table(), where="downstream_dataset==imagenet1k", method="ls", n_boot=0,
                      holdout=Holdout(above=1e12))
    assert (above["backtest_n_heldout"] == (np.logspace(9, 13, 12) > 1e12).sum()).all()


def test_too_small_group_gets_a_row_saying_why():
    df = long_table()
    df = df[~((df["upstream_dataset"] == "CLIP-WIT") & (df["arch"] != "m0"))]
    fits = fit_table(df, n_boot=0)
    bad = fits[fits["status"] == "failed"]
    assert len(bad) == 2
    assert "group (cars, openai)" in bad["message"].iloc[0] and "too few" in bad["message"].iloc[0]
    with pytest.raises(Exception, match="too few"):
        fit_table(df, n_boot=0, errors="raise")


@pytest.mark.parametrize("kwargs,match", [
    ({"compute_col": "flops"}, r"column 'flops' \(compute\) is not in the table; valid choices: .*gmacs_total"),
    ({"metric": "acc5"}, r"column 'acc5' \(metric\) is not in the table"),
    ({"group_by": ["task"]}, r"column 'task' \(in --group-by\)"),
    ({"where": "downstream_dataset=imagenet1k"}, "write it as 'column==value'"),
    ({"where": "downstream_dataset==imagenet"}, "no rows left after --where"),
    ({"method": "nope"}, "valid choices: auto, frontier, logodds, logodds-sat, ls, paper;"),
])
def test_bad_options_name_the_column_and_choices(kwargs, match):
    with pytest.raises(DataError if "method" not in kwargs else Exception, match=match):
        fit_table(long_table(), n_boot=0, **kwargs)


def test_bad_values_name_the_row():
    df = long_table()
    df.loc[5, "acc1"] = np.nan
    with pytest.raises(DataError, match=r"empty or not a number at row 5 \(run5, imagenet1k\)"):
        fit_table(df, n_boot=0)
    df = long_table()
    df.loc[7, "gmacs_total"] = -1
    with pytest.raises(DataError, match=r"gmacs_total must be a finite number > 0 .* row 7"):
        fit_table(df, n_boot=0)
    df = long_table()
    df.loc[2, "acc1"] = 1.0  # error 0 cannot go on a log axis: that group fails, not the table
    out = fit_table(df, n_boot=0)
    bad = out[out["status"] == "failed"]
    assert len(bad) == 1 and "reaches 0" in bad["message"].iloc[0]
    with pytest.raises(DataError, match=r"error \(1 - metric\) must be .* row 2"):
        prepare_table(df)
    df = long_table()
    df["acc1"] *= 100
    with pytest.raises(DataError, match="looks like a percentage"):
        fit_table(df, n_boot=0)


def test_wide_tables_are_reshaped():
    long = prepare_table(wide_table(), compute_col="FLOPs (B)")
    assert set(long["downstream_dataset"]) == {"ImageNet 1k", "MSCOCO"}  # not params, not the bad average
    fits = fit_table(wide_table(), compute_col="FLOPs (B)", method="ls", n_boot=20)
    by = fits.set_index("downstream_dataset")
    assert by.loc["ImageNet 1k", "alpha"] == pytest.approx(-0.2) and by.loc["MSCOCO", "coef"] == pytest.approx(0.8)
    with pytest.raises(DataError, match=r"fractions in \[0, 1\]; got 30282.63 at row 11 \(ViT-3, Average perf.\)"):
        fit_table(wide_table(), compute_col="FLOPs (B)", value_cols=["ImageNet 1k", "Average perf."], n_boot=0)


def test_cli_fit_json_and_text(tmp_path, capsys):
    path = tmp_path / "r.csv"
    long_table().to_csv(path, index=False)
    assert main(["fit", str(path), "--where", "downstream_dataset==cars", "--json", "--n-boot", "50",
                 "--holdout-top-frac", "0.25"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["group"] for r in rows] == ["openai", "openclip"]
    for r in rows:
        assert r["floor"] is None and r["n_points"] == 12 and r["alpha_lo"] < r["alpha"] < r["alpha_hi"]
        assert r["backtest_mae_pct"] >= 0 and "r2" in r and "coef" in r
    assert main(["fit", str(path), "--method", "frontier", "--opt", "loss=huber", "--n-boot", "0",
                 "--out", str(tmp_path / "fits.csv")]) == 0
    assert "E = " in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "fits.csv")) == 4


def test_cli_reads_wide_tables(tmp_path, capsys):
    path = tmp_path / "openclip.csv"
    wide_table().to_csv(path, index=False)
    assert main(["fit", str(path), "--compute-col", "FLOPs (B)", "--method", "ls", "--json", "--n-boot", "10"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["downstream_dataset"] for r in rows} == {"ImageNet 1k", "MSCOCO"}


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    path = tmp_path / "r.csv"
    long_table().to_csv(path, index=False)
    for args, needle in ((["--compute-col", "FLOPs"], "column 'FLOPs'"), (["--opt", "huber"], "KEY=VALUE"),
                         (["--method", "ls", "--opt", "bins=3"], "has no option 'bins'")):
        proc = subprocess.run([sys.executable, "-m", "clipscale", "fit", str(path), *args],
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and needle in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "clipscale", "fit", str(tmp_path / "missing.csv")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_cli_compares_methods_on_one_split(tmp_path, capsys):
    path = tmp_path / "r.csv"
    long_table().to_csv(path, index=False)
    assert main(["fit", str(path), "--where", "group==openclip", "--holdout-top", "3", "--compare", "ls", "paper",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["downstream_dataset"], r["method"]) for r in rows] == [
        ("cars", "ls"), ("cars", "paper"), ("imagenet1k", "ls"), ("imagenet1k", "paper")]
    assert all(r["n_heldout"] == 3 and r["n_train"] == 9 and r["mae_pct"] < 2 for r in rows)
    assert main(["fit", str(path), "--compare"]) == 2
    assert "--compare needs a split" in capsys.readouterr().err
