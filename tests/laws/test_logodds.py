"""Method 'logodds' (E/(1-E) = coef*C^alpha on the compute frontier) and zero-error groups."""
import numpy as np
import pandas as pd
import pytest

from clipscale.errors import DataError
from clipscale.laws import FitResult, Holdout, backtest, fit, fit_table


@pytest.fixture
def sigmoid_curve(odds_curve):
    return lambda noise=0.0, seed=0: odds_curve(50.0, -0.8, noise=noise, seed=seed)


def test_logodds_recovers_a_known_law_and_predicts_in_error_space(sigmoid_curve):
    c, e = sigmoid_curve()
    res = fit(c, e, "logodds", n_boot=50)
    assert res.alpha == pytest.approx(-0.8, abs=1e-6)
    assert res.coef == pytest.approx(50.0, rel=1e-6)
    assert res.r2 == pytest.approx(1.0)
    assert res.formula().startswith("E/(1-E) = ")
    assert np.allclose(res.predict(c), e)
    lo, hi = res.predict_interval([1e5])
    assert 0 < lo[0] <= res.predict([1e5])[0] <= hi[0] < 1


def test_logodds_beats_a_power_law_on_a_sigmoid_backtest(sigmoid_curve):
    c, e = sigmoid_curve(noise=0.01, seed=3)
    lo = backtest(c, e, "logodds", holdout=Holdout(top=6))
    pl = backtest(c, e, "frontier", holdout=Holdout(top=6))
    assert lo.mae_pct < pl.mae_pct
    assert lo.mae_pct < 1.0


def test_logodds_round_trips_through_json(tmp_path, sigmoid_curve):
    c, e = sigmoid_curve(noise=0.02)
    res = fit(c, e, "logodds", n_boot=20)
    back = FitResult.load(res.save(tmp_path / "f.json"))
    assert back.space == "logodds"
    assert np.allclose(back.predict([3e4]), res.predict([3e4]))


def test_logodds_rejects_error_one():
    with pytest.raises(DataError, match="error < 1"):
        fit([1, 10, 100], [1.0, 0.5, 0.2], "logodds", n_boot=0)


def test_a_solved_task_fails_its_group_not_the_table(sigmoid_curve):
    c, e = sigmoid_curve(noise=0.01)
    rows = [{"gmacs_total": ci, "task": "hard", "err": ei} for ci, ei in zip(c, e)]
    rows += [{"gmacs_total": ci, "task": "solved", "err": 0.0 if ci > 1e3 else 0.1} for ci in c]
    out = fit_table(pd.DataFrame(rows), error_col="err", group_by="task", method="logodds", n_boot=10)
    st = dict(zip(out["task"], out["status"]))
    assert st == {"hard": "ok", "solved": "failed"}
    assert "reaches 0" in out.set_index("task").loc["solved", "message"]


def test_a_fit_table_row_reads_back_as_the_same_law(sigmoid_curve):
    c, e = sigmoid_curve(noise=0.01)
    df = pd.DataFrame({"gmacs_total": c, "err": e})
    row = fit_table(df, error_col="err", method="logodds", n_boot=20).iloc[0].to_dict()
    back = FitResult.from_row(row)
    res = fit(c, e, "logodds", n_boot=0)
    assert back.space == "logodds" and back.formula() == row["formula"]
    assert np.allclose(back.predict([1e5]), res.predict([1e5]))
    assert back.ci["alpha"] == (row["alpha_lo"], row["alpha_hi"])
