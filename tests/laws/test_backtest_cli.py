"""`clipscale backtest`: the summary it prints, backtest.csv's columns, and one line with exit 2 for
bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.laws.heldout import CSV_COLUMNS


def _table(path, n_groups=2, seed=0):
    """Runs of a grid of model sizes (GMACs per sample) x samples seen per dataset; the error falls as a
    joint law in log-odds with normal noise, and a dataset of 8 repeated-data runs."""
    rng = np.random.default_rng(seed)
    n, d = (a.ravel() for a in np.meshgrid([5.0, 12, 30, 80, 200], [1e9, 3e9, 1e10, 3e10]))
    rows = []
    for g in range(n_groups):
        logit = np.log(np.exp(1.5 + g) / n ** 0.5 + np.exp(9.0) / d ** 0.45 + np.exp(-2.0)) + rng.normal(0, 0.03, n.size)
        rows.append(pd.DataFrame({"gmacs": n, "samples_seen": d, "gmacs_total": n * d, "acc1": 1 - 1 / (1 + np.exp(-logit)),
                                  "downstream_dataset": f"ds{g}", "upstream_dataset": "LAION-400M",
                                  "arch": [f"m{x:g}" for x in n]}))
    pd.concat(rows, ignore_index=True).to_csv(path, index=False)
    return path


def test_frontier_target_prints_coverage_per_group_and_writes_backtest_csv(tmp_path, capsys):
    path = _table(tmp_path / "results.csv")
    assert main(["backtest", str(path), "--target", "frontier", "--method", "frontier", "--holdout-top-frac", "0.25",
                 "--n-boot", "100", "--out", str(tmp_path / "bt")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("backtest: held-out frontier runs, frontier law frontier") and "50/80/90/95%" in out[0]
    assert out[1].split() == ["downstream_dataset", "group", "n", "in50%", "in80%", "in90%", "in95%", "width90", "miss_med",
                              "miss_p90"]
    assert [line.split()[0] for line in out[2:5]] == ["ds0", "ds1", "all"]
    csv = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert list(csv.columns) == ["downstream_dataset", "group", *CSV_COLUMNS]  # group: derived from upstream_dataset
    assert set(csv["upstream_dataset"]) == {"LAION-400M"} and len(csv) == int(out[4].split()[1])
    inside = 100 * csv["inside_90"].mean()
    assert out[-1].startswith(f"overall: {inside:.1f}% of {len(csv)} held-out runs inside their 90% intervals")


def test_runs_target_uses_the_recommended_per_run_law_with_the_papers_unique_data(tmp_path, capsys):
    path = _table(tmp_path / "results.csv")
    assert main(["backtest", str(path), "--target", "runs", "--n-boot", "10", "--out", str(tmp_path / "bt")]) == 0
    out = capsys.readouterr().out
    assert "held-out runs, per-run law perrun" in out and "the 20% of runs with the largest compute" in out
    csv = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert len(csv) == 2 * 4                      # 20% of 20 runs per dataset
    assert csv["lo90_error_pct"].between(0, 100).all() and csv["hi90_error_pct"].between(0, 100).all()
    assert (csv["predicted_error_pct"] - csv["actual_error_pct"]).abs().median() < 3


@pytest.mark.parametrize("argv, patterns", [
    (["--target", "frontier", "--method", "nope"], ["unknown law method 'nope'", "auto"]),
    (["--target", "runs", "--method", "frontier"], ["unknown per-run law 'frontier'", "joint, perrun"]),
    (["--target", "runs", "--holdout-top-frac", "1.5"], ["fraction in (0, 1)"]),
    (["--target", "runs", "--n-boot", "3"], ["too few resamples"]),
    (["--target", "frontier", "--holdout-frontier-top", "0"], ["--holdout-frontier-top must be a whole number >= 1"]),
    (["--target", "frontier", "--where", "downstream_dataset==nope"], ["no rows left after --where"]),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, patterns, cli_fails):
    path = _table(tmp_path / "results.csv")
    cli_fails(["backtest", str(path), *argv], *patterns)


def test_a_missing_table_fails_before_reading_anything(tmp_path, capsys, cli_fails):
    cli_fails(["backtest", str(tmp_path / "none.csv"), "--target", "runs"], "results table not found")
