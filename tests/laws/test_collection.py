"""One home for every fit: `Fits` saved as fits.json and read back; evaluation types fitted apart;
backtests of every group in the shared columns; the CLIP-WIT rule applied by every table function."""
import json

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.errors import DataError
from clipscale.laws import Fits, Holdout, backtest_groups, backtest_table, fit_groups, fit_table, prepare_table
from clipscale.laws import _joint_opt as J
from clipscale.laws.backtest import BACKTEST_COLUMNS
from clipscale.laws.joint_table import fit_joint_groups, load_fits

from test_table import long_table

KINDS = {"zeroshot_classification": -0.10, "linear_probe": -0.20, "finetune": -0.30}


def eval_table(n=10, seed=0):
    """One dataset evaluated three ways, each with its own exponent (zero-shot, probe, fine-tune)."""
    rng = np.random.default_rng(seed)
    c = np.logspace(2, 5, n)
    rows = []
    for kind, alpha in KINDS.items():
        err = 0.9 * c ** alpha * 10 ** rng.normal(0, 0.005, n)
        rows += [{"arch": f"m{i % 3}", "gmacs_total": c[i], "upstream_dataset": "embedded-64K", "task": kind,
                  "downstream_dataset": "embedded/objects", "acc1": 1 - err[i], "name": f"run{i}"}
                 for i in range(n)]
    return pd.DataFrame(rows)


def test_fits_round_trip_keeps_every_fit_bootstrap_included(tmp_path):
    fits = fit_groups(long_table(), method="paper", n_boot=50, holdout=Holdout(top=2))
    path = fits.save(tmp_path / "fits.json")
    back = Fits.load(path)
    a, b = fits.frame(), back.frame()
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 4
    num = a.select_dtypes("number").columns
    assert np.allclose(a[num].to_numpy(float), b[num].to_numpy(float), equal_nan=True)
    one, two = fits.entries[1].fit, back.entries[1].fit
    c = np.logspace(9, 14, 5)
    assert np.allclose(one.predict_interval(c, 0.9), two.predict_interval(c, 0.9))   # the band survives
    assert fit_table(long_table(), method="paper", n_boot=50, holdout=Holdout(top=2)).equals(a)  # fits.csv = frame()


def test_evaluation_types_are_fitted_apart():
    fits = fit_table(eval_table(), method="ls", n_boot=0)
    assert list(fits["task"]) == sorted(KINDS) and (fits["n_points"] == 10).all()
    for _, row in fits.iterrows():
        assert row["alpha"] == pytest.approx(KINDS[row["task"]], abs=0.01)
    one_kind = fit_table(eval_table()[lambda d: d["task"] == "finetune"], method="ls", n_boot=0)
    assert "task" not in one_kind.columns                 # a single type: the paper's groups as before


def test_clip_wit_rule_applies_in_fits_and_backtests():
    df = long_table()
    wit = df[df["upstream_dataset"] == "CLIP-WIT"]
    paper = fit_table(wit, method="paper", n_boot=0)
    ls = fit_table(wit, method="ls", n_boot=0)
    assert np.allclose(paper["alpha"], ls["alpha"])      # CLIP-WIT: plain least squares, not binned
    binned = fit_table(wit.assign(upstream_dataset="LAION-2B"), method="paper", n_boot=0)
    assert not np.allclose(binned["alpha"], ls["alpha"])
    bt_paper = backtest_table(wit[wit["downstream_dataset"] == "cars"], method="paper", holdout=Holdout(top=2))
    bt_ls = backtest_table(wit[wit["downstream_dataset"] == "cars"], method="ls", holdout=Holdout(top=2))
    assert np.allclose(bt_paper["predicted_error_pct"], bt_ls["predicted_error_pct"])


def test_backtest_tables_share_their_columns():
    table, skipped = backtest_groups(long_table(), ("paper", "frontier"), holdout=Holdout(top=2), keep=("name", "arch"))
    assert list(table.columns) == ["downstream_dataset", "group", "name", "arch", *BACKTEST_COLUMNS]
    assert len(table) == 4 * 2 * 2 and skipped == []
    one = backtest_table(long_table().query("downstream_dataset == 'cars' and upstream_dataset == 'LAION-2B'"),
                         holdout=Holdout(top=2), keep=("name",))
    assert list(one.columns) == ["name", *BACKTEST_COLUMNS]
    tiny, skipped = backtest_groups(long_table().head(3), ("paper",), holdout=Holdout(top=2))
    assert tiny.empty and list(tiny.columns) == list(BACKTEST_COLUMNS) and "too few" in skipped[0]


def test_prepare_table_can_drop_what_cannot_be_fitted():
    df = long_table().head(6).astype({"acc1": object})
    df.loc[0, "acc1"] = "n/a"
    df.loc[1, "gmacs_total"] = -1
    with pytest.raises(DataError, match="empty or not a number"):
        prepare_table(df)
    kept = prepare_table(df, bad="drop")
    assert len(kept) == 4 and kept.attrs["dropped"] == 2
    derived = prepare_table(df.drop(columns="gmacs_total").assign(gmacs=2.0, samples_seen=3.0), bad="drop")
    assert (derived["_compute"] == 6.0).all()             # total GMACs = per-sample GMACs x samples seen


def _joint_rows():
    theta = np.array([np.log(400), np.log(2000), np.log(1.8), 0.34, 0.37])
    rows = [{"arch": a, "params": n, "samples_seen": d, "loss": float(np.exp(J.log_law(theta, np.log(n), np.log(d))))}
            for a, n in (("s", 1e7), ("m", 1e8), ("l", 1e9)) for d in np.logspace(9, 12, 4)]
    return pd.DataFrame(rows)


def test_the_older_joint_fits_file_is_still_read(tmp_path):
    fits = fit_joint_groups(_joint_rows(), size_col="params", data_col="samples_seen", error_col="loss",
                            n_boot=10, cost_factor=6.0)
    e = fits.entries[0]
    legacy = {"schema": "clipscale.laws.JointFits/1", "table": "runs.csv",
              "fits": [{"group": e.group, "fit": e.fit.to_dict(), "cost": e.extra["cost"], "architectures": []}]}
    (tmp_path / "old.json").write_text(json.dumps(legacy))
    entry = load_fits(tmp_path / "old.json")[0]
    assert entry["fit"].size_exp == pytest.approx(e.fit.size_exp) and entry["cost"](1e9) == pytest.approx(6e9)


def test_cli_fit_writes_fits_json_beside_the_csv_and_plan_needs_a_joint_fit(tmp_path, capsys):
    long_table().to_csv(tmp_path / "r.csv", index=False)
    assert main(["fit", str(tmp_path / "r.csv"), "--method", "frontier", "--n-boot", "20",
                 "--out", str(tmp_path / "fits.csv")]) == 0
    back = Fits.load(tmp_path / "fits.json")
    csv = pd.read_csv(tmp_path / "fits.csv")
    assert len(back.entries) == len(csv) == 4 and {e.method for e in back.entries} == {"frontier"}
    assert np.allclose(back.frame()["alpha"], csv["alpha"])
    capsys.readouterr()
    assert main(["plan", "--fit", str(tmp_path / "fits.json"), "--compute", "1e12"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds no joint-law fit" in err
