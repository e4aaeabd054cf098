"""Fits written before the law parameters' renames (issue 27: beta -> coef, e_inf -> floor; the
joint law's E_inf, alpha, beta -> floor, size_exp, data_exp) are read back under today's names.

The old files are written out here field by field, in the layout version /1 wrote (schema strings,
keys and nesting as FitResult/1, JointFit/1 and Fits/1 had them)."""
import json

import numpy as np
import pytest

from clipscale.errors import DataError
from clipscale.laws import FitResult, Fits, JointFit
from clipscale.laws.joint import PARAMS

C = [1.0, 10.0, 100.0, 1000.0]
OLD_LAW = {"schema": "clipscale.laws.FitResult/1", "formula": "E = 0.50 · C^-0.10", "method": "ls",
           "alpha": -0.1, "beta": 0.5, "e_inf": None, "c0": None, "r2": 0.99, "n_points": 4, "n_fit_points": 4,
           "ci": {"alpha": [-0.11, -0.09], "beta": [0.45, 0.55]}, "ci_level": 0.95, "n_boot": 3, "seed": 0,
           "boot": {"alpha": [-0.1, -0.11, -0.09], "beta": [0.5, 0.55, 0.45]}, "resid_std": 0.01,
           "residuals": [0.0, 0.0, 0.0, 0.0], "compute": C, "error": [0.5, 0.4, 0.32, 0.25], "options": {},
           "notes": [], "space": "log"}
OLD_JOINT = {"schema": "clipscale.laws.JointFit/1", "method": "joint", "formula": "E = 1.15 + 16.3 / N^0.180 ...",
             "A": 16.3, "B": 242.0, "E_inf": 1.15, "alpha": 0.18, "beta": 0.272, "objective": 1e-4, "n_points": 6,
             "n_starts": 1, "delta": 1e-3, "ci": {"A": [10.0, 20.0], "B": [200.0, 300.0], "E_inf": [1.0, 1.3],
                                                  "alpha": [0.15, 0.2], "beta": [0.25, 0.3]},
             "ci_level": 0.95, "n_boot": 0, "seed": 0, "boot": [], "resid_std": 0.0,
             "size": [1e7, 1e7, 1e8, 1e8, 1e9, 1e9], "data": [1e9, 1e10] * 3, "error": [3.0, 2.5, 2.6, 2.2, 2.4, 2.0],
             "size_unit": "parameters", "data_unit": "samples seen", "notes": [],
             "log_params": [2.79, 5.49, 0.139, 0.18, 0.272]}


def test_a_fit_of_schema_1_reads_beta_and_e_inf_as_coef_and_floor():
    fit = FitResult.from_dict(OLD_LAW)
    assert fit.coef == 0.5 and fit.floor is None and fit.alpha == -0.1
    assert fit.ci["coef"] == (0.45, 0.55) and list(fit.boot) == ["alpha", "coef"]
    assert fit.predict([10.0])[0] == pytest.approx(0.5 * 10 ** -0.1)
    lo, hi = fit.predict_interval([10.0], 0.9, kind="confidence")  # the old bootstrap is usable
    assert lo[0] < fit.predict([10.0])[0] < hi[0]
    out = fit.to_dict()
    assert out["schema"] == "clipscale.laws.FitResult/3" and "beta" not in out and out["coef"] == 0.5


def test_a_joint_fit_of_schema_1_reads_its_old_names():
    fit = JointFit.from_dict(OLD_JOINT)
    # the parameters come from the exact log_params, as a /2 file's do
    assert fit.floor == pytest.approx(np.exp(0.139)) and fit.size_exp == 0.18 and fit.data_exp == 0.272
    assert set(fit.ci) == set(PARAMS) and fit.ci["size_exp"] == (0.15, 0.2)
    assert "E_inf" not in fit.to_dict() and fit.to_dict()["schema"] == "clipscale.laws.JointFit/2"


def test_a_fits_file_of_schema_1_is_read_and_its_table_has_the_new_columns(tmp_path):
    old = {"schema": "clipscale.laws.Fits/1", "meta": {"method": "ls"},
           "fits": [{"group": {"downstream_dataset": "cars"}, "method": "ls", "n_points": 4, "metric": "acc1",
                     "status": "ok", "message": "", "backtest": {}, "extra": {}, "fit": OLD_LAW},
                    {"group": {}, "method": "joint", "n_points": 6, "metric": "error:loss", "status": "ok",
                     "message": "", "backtest": {}, "extra": {}, "fit": OLD_JOINT}]}
    (tmp_path / "fits.json").write_text(json.dumps(old))
    fits = Fits.load(tmp_path / "fits.json")
    frame = fits.frame()
    assert frame.loc[0, "coef"] == 0.5 and frame.loc[1, "size_exp"] == 0.18 and frame.loc[1, "floor"] > 1
    assert not {"beta", "e_inf", "E_inf"} & set(frame.columns)
    # Fits/1 named a given error column only in the metric's label: read back as the typed field
    assert [e.error_col for e in fits.entries] == ["", "loss"]
    again = Fits.from_dict(json.loads(json.dumps(fits.to_dict())))
    assert [e.error_col for e in again.entries] == ["", "loss"]


def test_an_older_fits_csv_row_is_read_back():
    row = {"downstream_dataset": "cars", "method": "ls", "alpha": -0.1, "beta": 0.5, "e_inf": float("nan"),
           "beta_lo": 0.45, "beta_hi": 0.55, "alpha_lo": -0.11, "alpha_hi": -0.09, "r2": 0.99, "n_points": 4}
    fit = FitResult.from_row(row)
    assert fit.coef == 0.5 and fit.floor is None and fit.ci["coef"] == (0.45, 0.55)
    assert fit.formula() == "E = 0.50 · C^-0.10"


@pytest.mark.parametrize("schema", ["clipscale.laws.FitResult/9", None])
def test_another_schema_is_refused_in_one_line_that_says_how_to_refit(schema):
    with pytest.raises(DataError) as info:
        Fits.from_dict({"schema": "clipscale.laws.Fits/2", "fits": [
            {"group": {}, "method": "ls", "n_points": 4, "fit": {**OLD_LAW, "schema": schema}}]})
    assert "refit with `clipscale fit`" in str(info.value) and "\n" not in str(info.value)
