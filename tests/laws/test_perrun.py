"""The per-run law E(N, D, U): effective data, recovery, reduction to the joint law, bounds, JSON,
bad input, interval coverage, the table functions."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clipscale.errors import DataError, FitError, NotFoundError
from clipscale.laws import _joint_opt as J
from clipscale.laws import _perrun_opt as P
from clipscale.laws import Holdout
from clipscale.laws.joint import fit_joint
from clipscale.laws.perrun import SCHEMA, PerRunFit, fit_perrun
from clipscale.laws.perrun_table import backtest_perrun, fit_perrun_groups

CHINCHILLA = Path(__file__).resolve().parents[3] / "shared" / "chinchilla" / "svg_extracted_data.csv"
#: a small start grid keeps the synthetic fits fast (the default grids are tested on real data)
SMALL = J.start_grid({"a": np.array([0.0, 5]), "b": np.array([5.0, 15]), "e": np.array([-3.0, -1]),
                      "size_exp": np.array([0.3, 1.0]), "data_exp": np.array([0.3, 1.0])})
#: (a, b, e, size_exp, data_exp) in log-odds units; N in GMACs per sample, D in samples
TRUE = np.array([[1.5, 9.0, -2.0, 0.5, 0.45], [2.5, 11.0, -2.5, 0.7, 0.55], [1.0, 8.0, -1.0, 0.4, 0.4]])
DECAY = 20.0


def _runs(theta=TRUE, decay=DECAY, noise=0.01, seed=0, repeat=True):
    """Every (N, D, U) of a small grid for each group: error = sigmoid(law + normal noise)."""
    rng = np.random.default_rng(seed)
    n, d, u = (a.ravel() for a in np.meshgrid([5.0, 12, 30, 80], [1e9, 4e9, 1.5e10, 4e10], [1e8, 6e8, 3e9]))
    rows = []
    for g, th in enumerate(theta):
        ld = P.log_effective_data(np.log(d), np.log(u) if repeat else np.inf, decay)
        y = P.batch_log_law(th, np.log(n), ld)[0] + rng.normal(0, noise, n.size)
        rows.append(pd.DataFrame({"size": n, "data": d, "unique": u, "error": P.from_link(y, "logit"), "group": f"g{g}"}))
    return pd.concat(rows, ignore_index=True)


def _fit(df, unique=True, **kw):
    kw = {"n_boot": 0, "starts": SMALL, "calibrate": False, "spread": None, **kw}
    return fit_perrun(df["size"], df["data"], df["error"], df["unique"] if unique else None, group=df["group"], **kw)


def test_effective_data_follows_muennighoff():
    ld = P.log_effective_data
    d, u = np.array([1e8, 1e9, 1e12]), 1e9
    got = np.exp(ld(np.log(d), np.log(u), 15.0))
    assert got[0] == pytest.approx(1e8) and got[1] == pytest.approx(1e9)        # one epoch or less: D' = D
    r = 1e12 / 1e9 - 1                                                            # repetitions beyond the first
    assert got[2] == pytest.approx(u + u * 15 * (1 - np.exp(-r / 15)))           # eq. 5 by hand
    assert got[2] < u * 16                                                        # never beyond U (1 + R*)
    assert np.allclose(ld(np.log(d), np.inf, 15.0), np.log(d))                    # no U: D' = D
    assert np.allclose(ld(np.log(d), np.log(u), np.inf), np.log(d))               # no decay: D' = D
    eps = 1e-6                                                                    # continuous at D = U
    assert np.exp(ld(np.log(u * (1 + eps)), np.log(u), 15.0)) == pytest.approx(u * (1 + eps), rel=1e-9)


def test_recovers_known_parameters_and_the_decay():
    df = _runs()
    fit = _fit(df)
    assert fit.decay == pytest.approx(DECAY, rel=0.25)
    for g, th in enumerate(TRUE):
        got = fit.theta[fit.index(f"g{g}")]
        assert got[3:] == pytest.approx(th[3:], abs=0.05)                         # the exponents
    # a heavily repeated run beyond the fitted ones (1e11 samples of 1e8 unique, N = 200)
    truth = P.from_link(P.batch_log_law(TRUE[1], np.log(200.0), P.log_effective_data(np.log(1e11), np.log(1e8), DECAY)), "logit")
    assert fit.predict(200.0, 1e11, 1e8, group="g1")[0] == pytest.approx(truth[0, 0], abs=0.01)


def test_recovers_the_law_without_repetition_and_unique_data_matters():
    fit = _fit(_runs(repeat=False), unique=False)
    assert fit.decay is None
    for g, th in enumerate(TRUE):
        assert fit.theta[g][3:] == pytest.approx(th[3:], abs=0.05)
    # on repeated data, a law without U misses the repeated runs more than the law with U
    df = _runs()
    rep = df[(df["data"] / df["unique"] > 50) & (df["group"] == "g0")]
    miss = {u: np.abs(_fit(df, unique=u).predict(rep["size"], rep["data"], rep["unique"] if u else None,
                                                 group="g0") - rep["error"]).mean() for u in (True, False)}
    assert miss[True] < miss[False] / 3


def test_without_unique_data_it_is_the_joint_law():
    rng = np.random.default_rng(3)
    n, d = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 60)), np.exp(rng.uniform(np.log(1e9), np.log(1e12), 60))
    loss = np.exp(J.log_law(np.array([6.0, 7.5, 0.6, 0.35, 0.37]), np.log(n), np.log(d)) + rng.normal(0, 0.01, 60))
    mine = fit_perrun(n, d, loss, link="log", n_boot=0, calibrate=False, starts=SMALL)
    joint = fit_joint(n, d, loss, n_boot=0, starts=SMALL)
    assert mine.objective[0] == pytest.approx(joint.objective, rel=1e-6)
    assert mine.theta[0] == pytest.approx(joint.theta, rel=1e-4, abs=1e-6)
    assert np.allclose(mine.predict([1e9], [1e11]), joint.predict([1e9], [1e11]), rtol=1e-6)


@pytest.mark.slow   # the certified values need Hoffmann et al.'s full 4,500-start grid (about 15 s)
@pytest.mark.skipif(not CHINCHILLA.exists(), reason="needs ../shared/chinchilla")
def test_certified_chinchilla_values_through_the_per_run_law():
    df = pd.read_csv(CHINCHILLA)
    n, c, loss = df["Model Size"].to_numpy(), df["Training FLOP"].to_numpy(), df["loss"].to_numpy()
    keep = loss < sorted(loss)[-5]                                  # Epoch's 240 runs
    fit = fit_perrun(n[keep], c[keep] / (6 * n[keep]), loss[keep], link="log", n_boot=0, calibrate=False)
    assert fit.objective[0] == pytest.approx(1.0183e-3, rel=1e-3)
    p = fit.params()
    for got, want in ((p["A"], 477.8), (p["B"], 2144), (p["floor"], 1.8172), (p["size_exp"], 0.3473),
                      (p["data_exp"], 0.3671)):
        assert float(f"{got:.3g}") == float(f"{want:.3g}")


def test_predictions_and_intervals_stay_in_unit_interval():
    df = _runs(noise=0.05)
    fit = _fit(df, n_boot=30)
    n = np.array([1e-3, 1.0, 5.0, 1e3, 1e6, 1e9])
    d = np.array([1.0, 1e3, 1e9, 1e12, 1e15, 1e20])
    for g in fit.groups:
        for u in (1.0, 1e8, 1e30):
            pred = fit.predict(n, d, u, group=g)
            assert np.all((pred >= 0) & (pred <= 1))
            for level in (0.5, 0.9, 0.999999):
                lo, hi = fit.predict_interval(n, d, u, group=g, level=level)
                assert np.all((lo >= 0) & (lo <= pred) & (pred <= hi) & (hi <= 1))


def test_json_round_trip(tmp_path):
    fit = _fit(_runs(), n_boot=20)
    path = fit.save(tmp_path / "law.json")
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()     # standard JSON
    back = PerRunFit.load(path)
    assert back.to_dict()["schema"] == SCHEMA and back.tail_df == fit.tail_df
    args = ([30.0, 300.0], [1e10, 5e10], [6e8, 1e8])
    for g in fit.groups:
        assert np.allclose(back.predict(*args, group=g), fit.predict(*args, group=g))
        assert np.allclose(back.predict_interval(*args, group=g), fit.predict_interval(*args, group=g))
    plain = _fit(_runs(repeat=False), unique=False, n_boot=5)
    again = PerRunFit.load(plain.save(tmp_path / "plain.json"))
    assert again.decay is None and np.allclose(again.predict_interval([30.0], [1e10], group="g1"),
                                                plain.predict_interval([30.0], [1e10], group="g1"))
    one = PerRunFit.from_dict(fit.select("g2").to_dict())
    assert one.groups == ["g2"] and np.allclose(one.predict(*args), fit.predict(*args, group="g2"))
    assert np.allclose(one.extrapolation_decades(*args[:2]), fit.extrapolation_decades(*args[:2], group="g2"))


def test_extrapolation_decades():
    fit = _fit(_runs())
    lo, hi = fit.compute_range[0]
    assert fit.extrapolation_decades([80.0], [hi / 80.0 * 100], group="g0")[0] == pytest.approx(2.0)
    assert fit.extrapolation_decades([12.0], [4e9], group="g0")[0] == 0.0


def test_bad_input_is_one_typed_error_each(tmp_path):
    ok = _runs()
    with pytest.raises(DataError, match="model size N must be numbers"):
        fit_perrun(["a"] * 8, [1e9] * 8, [0.5] * 8)
    with pytest.raises(DataError, match="must be finite and > 0"):
        fit_perrun([0.0] + [1.0] * 7, [1e9] * 8, [0.5] * 8)
    with pytest.raises(DataError, match="one value per run"):
        fit_perrun([1.0] * 8, [1e9] * 7, [0.5] * 8)
    with pytest.raises(DataError, match="fraction below 1 for link 'logit'"):
        fit_perrun([1.0] * 8, [1e9] * 8, [1.5] * 8)
    with pytest.raises(FitError, match="too few"):
        fit_perrun([1.0, 2, 3], [1e9] * 3, [0.5] * 3)
    with pytest.raises(NotFoundError, match="valid choices: log, logit"):
        fit_perrun([1.0] * 8, [1e9] * 8, [0.5] * 8, link="probit")
    fit = _fit(ok)
    with pytest.raises(DataError, match="pass unique="):
        fit.predict([1.0], [1e9], group="g0")
    with pytest.raises(NotFoundError, match="unknown group 'nope'"):
        fit.predict([1.0], [1e9], [1e9], group="nope")
    with pytest.raises(DataError, match="pass group="):
        fit.predict([1.0], [1e9], [1e9])
    with pytest.raises(FitError, match="no bootstrap"):
        fit.predict_interval([1.0], [1e9], [1e9], group="g0")
    with pytest.raises(DataError, match="level must be a fraction"):
        _fit(ok, n_boot=5).predict_interval([1.0], [1e9], [1e9], group="g0", level=90)
    with pytest.raises(DataError, match="not a clipscale per-run law"):
        PerRunFit.from_dict({"schema": "clipscale.laws.PerRunFit/0"})
    with pytest.raises(DataError, match="not found"):
        PerRunFit.load(tmp_path / "missing.json")


def test_calibrated_intervals_cover_new_runs_on_synthetic_data():
    """Twelve groups from a known law with noise sd 0.1 (log-odds); fitted on the cheaper runs, the
    90% intervals of the 144 most expensive runs hold 80-98% of them (the 50% ones 35-68%)."""
    rng = np.random.default_rng(5)
    theta = TRUE[rng.integers(0, 3, 12)] + rng.normal(0, [0.3, 0.3, 0.3, 0.05, 0.05], (12, 5))
    df = _runs(theta=theta, noise=0.1, seed=6)
    comp = df["size"] * df["data"]
    top = comp > np.quantile(comp, 0.75)
    fit = _fit(df[~top], n_boot=60, calibrate=True)
    held = df[top]
    inside = {lev: [] for lev in (0.5, 0.9)}
    for g, sub in held.groupby("group"):
        for lev in inside:
            lo, hi = fit.predict_interval(sub["size"], sub["data"], sub["unique"], group=g, level=lev)
            inside[lev].extend((sub["error"] >= lo) & (sub["error"] <= hi))
    assert 0.80 <= np.mean(inside[0.9]) <= 0.98, np.mean(inside[0.9])
    assert 0.35 <= np.mean(inside[0.5]) <= 0.68, np.mean(inside[0.5])
    assert fit.calibration["n_predictions"] > 0 and fit.tail_df == 5.0


def test_table_functions():
    df = _runs().rename(columns={"size": "gmacs", "data": "samples_seen", "group": "downstream_dataset"})
    df["upstream_dataset"] = df["unique"].map({1e8: "small", 6e8: "mid", 3e9: "big"})
    df["acc1"] = 1 - df.pop("error")
    df["gmacs_total"] = df["gmacs"] * df["samples_seen"]
    mapping = {"small": 1e8, "mid": 6e8, "big": 3e9}
    fits = fit_perrun_groups(df, unique=mapping, n_boot=0, calibrate=False, starts=SMALL)
    assert [e.group["downstream_dataset"] for e in fits.entries] == ["g0", "g1", "g2"]
    assert all(e.method == "perrun" and e.ok and e.fit.decay == fits.meta["decay"] for e in fits.entries)
    back = PerRunFit.from_dict(fits.entries[1].to_dict()["fit"])
    assert back.predict([30.0], [1e10], [6e8]) == pytest.approx(fits.entries[1].fit.predict([30.0], [1e10], [6e8]))
    frame, fit = backtest_perrun(df, unique=mapping, holdout=Holdout(top_frac=0.2), n_boot=20, calibrate=False, starts=SMALL)
    assert len(frame) == 3 * int(np.ceil(0.2 * 48))
    for col in ("downstream_dataset", "upstream_dataset", "compute", "actual_error_pct", "predicted_error_pct",
                "lo90_error_pct", "hi90_error_pct", "inside_90", "extrapolation_decades"):
        assert col in frame.columns
    assert frame["extrapolation_decades"].min() >= 0
    with pytest.raises(DataError, match="no unique-sample count for upstream_dataset"):
        fit_perrun_groups(df, unique={"small": 1e8}, n_boot=0)
