"""The held-out backtest (laws.heldout) on both targets, the per-run law registry (laws.perrun_laws)
with E(N, D, U) as its recommended law, and a per-run law read back from fits.json."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clipscale.errors import DataError, NotFoundError
from clipscale.laws import PER_RUN_LAWS, Fits, Holdout, PerRunFit, backtest_heldout, fit_perrun_groups
from clipscale.laws import _perrun_opt as P
from clipscale.laws.defaults import PER_RUN_LAW
from clipscale.laws.heldout import CSV_COLUMNS, LEVELS
from clipscale.laws.noise import PAPER_UNIQUE, unique_samples

#: (a, b, e, size_exp, data_exp) of two groups in log-odds units; N in GMACs per sample, D in samples
TRUE = np.array([[1.5, 9.0, -2.0, 0.5, 0.45], [2.5, 11.0, -2.5, 0.7, 0.55]])


def _table(decay=20.0, noise=0.03, seed=0) -> pd.DataFrame:
    """A results table of every (N, D, U) of a small grid per downstream dataset; the error follows the
    data-constrained law (repeated samples worth less) plus normal noise in log-odds."""
    rng = np.random.default_rng(seed)
    n, d, u = (a.ravel() for a in np.meshgrid([5.0, 12, 30, 80], [1e9, 4e9, 1.5e10, 4e10], [1e8, 6e8, 3e9]))
    rows = []
    for g, th in enumerate(TRUE):
        y = P.batch_log_law(th, np.log(n), P.log_effective_data(np.log(d), np.log(u), decay))[0]
        err = P.from_link(y + rng.normal(0, noise, n.size), "logit")
        rows.append(pd.DataFrame({"gmacs": n, "samples_seen": d, "data_size": u, "gmacs_total": n * d,
                                  "acc1": 1 - err, "downstream_dataset": f"ds{g}", "arch": [f"m{x:g}" for x in n]}))
    return pd.concat(rows, ignore_index=True)


def test_the_recommended_per_run_law_knows_unique_data_and_its_backtest_csv_has_the_issues_columns():
    assert PER_RUN_LAW == "perrun" and PER_RUN_LAWS[PER_RUN_LAW].uses_unique and "joint" in PER_RUN_LAWS
    df = _table()
    held = backtest_heldout(df, target="runs", holdout=Holdout(top_frac=0.25), n_boot=20)
    assert held.skipped == [] and set(held.rows["method"]) == {"perrun"}
    assert len(held.rows) == 2 * int(np.ceil(0.25 * 48))
    csv = held.csv_frame()
    assert list(csv.columns) == ["downstream_dataset", *CSV_COLUMNS]
    assert csv["upstream_dataset"].isna().all() and (csv["arch"].str.startswith("m")).all()
    assert ((csv["lo90_error_pct"] >= 0) & (csv["lo90_error_pct"] <= csv["predicted_error_pct"])
            & (csv["predicted_error_pct"] <= csv["hi90_error_pct"]) & (csv["hi90_error_pct"] <= 100)).all()
    summary = held.summary()
    assert list(summary["downstream_dataset"]) == ["ds0", "ds1", "all"] and summary["n"].iloc[-1] == len(csv)
    inside = summary.iloc[-1][[f"inside_{round(100 * v)}" for v in LEVELS]].to_numpy(float)
    assert np.all(np.diff(inside) >= 0) and inside[-1] > 0.5     # nested intervals: coverage grows with level
    assert summary["inside_90"].iloc[-1] == pytest.approx(csv["inside_90"].mean())
    assert summary["miss_median"].iloc[-1] < 2.0   # the noise is ~0.7 error-% points; the law is the true form


def test_a_group_with_too_few_runs_is_skipped_with_the_reason_and_the_others_backtested():
    df = _table()
    small = df[df["downstream_dataset"] == "ds1"].head(6)
    held = backtest_heldout(pd.concat([df[df["downstream_dataset"] == "ds0"], small]), target="runs",
                            holdout=Holdout(top_frac=0.25), n_boot=10)
    assert set(held.rows["downstream_dataset"]) == {"ds0"}
    assert len(held.skipped) == 1 and held.skipped[0].startswith("(ds1)") and "too few for the perrun law" in held.skipped[0]


def test_frontier_target_judges_only_runs_on_the_frontier():
    df = _table()
    calls = []
    held = backtest_heldout(df, target="frontier", method="frontier", holdout=Holdout(top_frac=0.25), n_boot=100,
                            progress=lambda done, total: calls.append((done, total)))
    assert held.skipped == [] and len(held.rows)
    assert calls == [(0, 2), (1, 2), (2, 2)]  # a bar with its total before the first fit
    for ds, rows in held.rows.groupby("downstream_dataset"):
        sub = df[df["downstream_dataset"] == ds]
        for c, e in zip(rows["compute"], rows["actual"]):  # no cheaper run of the dataset did better
            assert e <= (1 - sub.loc[sub["gmacs_total"] < c, "acc1"]).min() + 1e-12
    assert list(held.csv_frame().columns) == ["downstream_dataset", *CSV_COLUMNS]


def test_bad_input_is_refused_with_the_choices():
    df = _table()
    with pytest.raises(NotFoundError, match="valid choices: frontier, runs"):
        backtest_heldout(df, target="nope", holdout=Holdout(top_frac=0.2))
    with pytest.raises(NotFoundError, match="joint, perrun|perrun, joint"):
        backtest_heldout(df, target="runs", method="nope", holdout=Holdout(top_frac=0.2))
    with pytest.raises(DataError, match="no rows left"):
        backtest_heldout(df, target="runs", where="downstream_dataset==none", holdout=Holdout(top_frac=0.2))


def test_fits_json_reads_a_per_run_law_back_and_fits_csv_summarises_it(tmp_path):
    fits = fit_perrun_groups(_table(), unique_col="data_size", n_boot=0, calibrate=False)
    fits.save(tmp_path / "fits.json")
    back = Fits.load(tmp_path / "fits.json")
    assert [e.method for e in back.entries] == ["perrun", "perrun"]
    for old, new in zip(fits.entries, back.entries):
        assert isinstance(new.fit, PerRunFit) and new.fit.decay == fits.meta["decay"]
        assert new.fit.predict([50.0], [2e10], [6e8]) == pytest.approx(old.fit.predict([50.0], [2e10], [6e8]))
    frame = back.frame()
    assert set(frame["downstream_dataset"]) == {"ds0", "ds1"}
    assert np.allclose(frame["decay"], fits.meta["decay"]) and frame["formula"].str.contains("D'").all()
    assert frame["size_exp"].between(0.3, 0.9).all()  # the true 0.5 and 0.7, from 48 runs each


def test_unique_samples_from_data_size_or_the_papers_sets():
    assert list(unique_samples(pd.DataFrame({"data_size": [5e6, 1e7]}))) == [5e6, 1e7]
    paper = pd.DataFrame({"upstream_dataset": ["LAION-80M", "LAION-2B"]})
    assert list(unique_samples(paper)) == [PAPER_UNIQUE["LAION-80M"], PAPER_UNIQUE["LAION-2B"]]
    assert unique_samples(pd.DataFrame({"upstream_dataset": ["LAION-80M", "CLIP-WIT"]})) is None  # unknown U
    assert unique_samples(pd.DataFrame({"data_size": [5e6, -1]})) is None
