"""The report reads fits back (fits.json) instead of fitting; laws per evaluation type; the joint law."""
import numpy as np
import pandas as pd
import pytest

from clipscale import laws
from clipscale.cli import main
from clipscale.laws import _joint_opt as J
from clipscale.laws.joint_table import fit_joint_groups
from clipscale.report import build_report
from clipscale.report._data import EVAL_LABELS

from test_build import FAST, embedded

ALPHAS = {"zeroshot_classification": -0.10, "linear_probe": -0.20, "finetune": -0.30}


def test_fits_json_is_drawn_with_bands_and_nothing_is_refitted(tmp_path, synthetic_results, monkeypatch):
    fits = laws.fit_groups(synthetic_results, method="frontier", n_boot=30)
    fits.save(tmp_path / "fits.json")
    fits.frame().to_csv(tmp_path / "fits.csv", index=False)

    def refit(*a, **k):
        raise AssertionError("the report fitted a law instead of reading it back")

    monkeypatch.setattr(laws, "fit", refit)
    monkeypatch.setattr(laws, "fit_groups", refit)
    index = build_report(synthetic_results, tmp_path / "a", fits=tmp_path / "fits.json", **FAST)
    law = embedded(index)["laws"]["beta_set"]["frontier"]["openclip"]
    want = fits.select(downstream_dataset="beta_set", group="openclip")[0].fit
    assert law["alpha"] == pytest.approx(want.alpha) and law["lo"] and law["hi"]   # the band came back
    # `clipscale report --fits fits.csv` finds fits.json beside it
    synthetic_results.to_csv(tmp_path / "r.csv", index=False)
    assert main(["report", str(tmp_path / "r.csv"), "--fits", str(tmp_path / "fits.csv"),
                 "--out", str(tmp_path / "b")]) == 0
    assert embedded(tmp_path / "b" / "index.html")["laws"]["beta_set"]["frontier"]["openclip"]["lo"]


def _eval_results(synthetic_results):
    base = synthetic_results[(synthetic_results["downstream_dataset"] == "alpha_set")
                             & (synthetic_results["upstream_dataset"] != "CLIP-WIT")]
    frames = []
    for kind, alpha in ALPHAS.items():
        err = 0.9 * base["gmacs_total"] ** alpha * 1e1 ** (0.3 * alpha)
        frames.append(base.assign(task=kind, acc1=1 - err))
    return pd.concat(frames, ignore_index=True)


def test_each_evaluation_type_gets_its_own_law_beside_the_others(tmp_path, synthetic_results):
    results = _eval_results(synthetic_results)
    index = build_report(results, tmp_path, methods=("ls",), **FAST)
    data = embedded(index)
    names = [d["name"] for d in data["datasets"]]
    assert names == ["alpha_set", "alpha_set · fine-tune", "alpha_set · linear probe"]
    for panel, kind in (("alpha_set", "zeroshot_classification"), ("alpha_set · linear probe", "linear_probe"),
                        ("alpha_set · fine-tune", "finetune")):
        assert data["laws"][panel]["ls"]["openclip"]["alpha"] == pytest.approx(ALPHAS[kind], abs=1e-6)
    table = pd.DataFrame(data["eval_laws"]["rows"], columns=data["eval_laws"]["columns"])
    assert list(table["evaluation"]) == ["zero-shot", "fine-tune", "linear probe"]
    assert np.allclose(table["alpha"], [ALPHAS["zeroshot_classification"], ALPHAS["finetune"],
                                        ALPHAS["linear_probe"]])
    plain = embedded(build_report(synthetic_results, tmp_path / "plain", methods=("ls",), **FAST))
    assert plain["eval_laws"] is None                      # one evaluation type: no such section


def test_every_evaluation_type_has_a_label():
    from clipscale.evaluate.finetune import FINETUNE
    from clipscale.evaluate.tasks import KINDS

    assert set(KINDS) | {FINETUNE} <= set(EVAL_LABELS)


def _joint_results():
    theta = np.array([np.log(0.01), np.log(20.0), np.log(0.02), 0.5, 0.45])  # E in 0.1-0.7
    rows = []
    for arch, g in (("xxs", 1e-3), ("xs", 3e-3), ("s", 1e-2), ("m", 3e-2)):
        for d in np.logspace(4, 6, 5):
            err = float(np.exp(J.log_law(theta, np.log(g), np.log(d))))
            rows.append({"arch": arch, "gmacs": g, "samples_seen": d, "gmacs_total": g * d, "acc1": 1 - err,
                         "downstream_dataset": "embedded/objects", "upstream_dataset": "embedded-64K",
                         "task": "zeroshot_classification", "name": f"{arch}-{d:.0f}"})
    return pd.DataFrame(rows)


def test_joint_law_and_compute_optimal_models_per_budget(tmp_path):
    results = _joint_results()
    fits = laws.fit_groups(results, method="ls", n_boot=0) + fit_joint_groups(
        results, size_col="gmacs", data_col="samples_seen", size_unit="gmacs", n_boot=40, name_col="arch")
    fits.save(tmp_path / "fits.json")
    index = build_report(results, tmp_path / "out", fits=tmp_path / "fits.json", **FAST)
    joint = embedded(index)["joint"]
    assert joint["failed"] == [] and len(joint["laws"]) == 1
    law = joint["laws"][0]
    params = {r[0]: r[1:] for r in law["params"]["rows"]}
    assert params["size_exp"][0] == pytest.approx(0.5, abs=0.02) and params["data_exp"][0] == pytest.approx(0.45, abs=0.02)
    assert params["size_exp"][1] <= params["size_exp"][0] <= params["size_exp"][2]
    plan = pd.DataFrame(law["plan"]["rows"], columns=law["plan"]["columns"])
    c = results["gmacs_total"]
    assert plan.iloc[:, 0].to_numpy() == pytest.approx([c.min(), np.sqrt(c.min() * c.max()), c.max(), 10 * c.max()])
    assert list(plan["extrapolation"].str.startswith("yes")) == [False, False, False, True]
    assert set(plan["nearest trained model"]) <= {"xxs", "xs", "s", "m"}
    saved = pd.read_csv(tmp_path / "out" / "compute_optimal.csv")
    assert len(saved) == 4 and (saved["N_opt_lo"] <= saved["N_opt"]).all() and (saved["N_opt"] <= saved["N_opt_hi"]).all()
    # the optimum really is optimal: at the same budget, every trained size does no better
    row = saved.iloc[2]
    fit = fits.select("joint")[0].fit
    for g in (1e-3, 3e-3, 1e-2, 3e-2):
        assert fit.predict(g, row["budget"] / g)[0] >= row["E_opt"] * (1 - 1e-6)


def test_a_joint_law_that_could_not_be_fitted_is_one_line(tmp_path):
    results = _joint_results().head(4)
    fits = fit_joint_groups(results, size_col="gmacs", data_col="samples_seen", size_unit="gmacs", n_boot=0)
    joint = embedded(build_report(results, tmp_path, fits=fits, **FAST))["joint"]
    assert joint["laws"] == [] and len(joint["failed"]) == 1 and "too few" in joint["failed"][0]
