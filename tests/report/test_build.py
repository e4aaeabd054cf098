"""build_report and `clipscale report` without a browser: files written, fits, bad input, errors."""
import json
import re

import pandas as pd
import pytest

from clipscale.cli import main
from clipscale.errors import NotFoundError
from clipscale.report import DEFAULT_METHODS, build_report

FAST = {"n_boot": 40, "figure_datasets": []}


def embedded(index) -> dict:
    """The JSON the page script reads."""
    text = index.read_text(encoding="utf-8")
    blob = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', text, re.S).group(1)
    return json.loads(blob)


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory, synthetic_results, synthetic_curves):
    out = tmp_path_factory.mktemp("synthetic")
    index = build_report(synthetic_results, out, curves=synthetic_curves, title="synthetic <test>",
                         n_boot=40, figure_datasets=["alpha_set"])
    return index


def test_outputs_are_written(synthetic_report):
    out = synthetic_report.parent
    assert synthetic_report.name == "index.html"
    for name in ("results.csv", "points.csv", "fits.csv", "predictions.csv", "curves.csv"):
        assert len(pd.read_csv(out / name)) > 0, name
    for name in ("scaling_alpha_set", "learning_curves"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / "figures" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    hrefs = {f["href"] for f in embedded(synthetic_report)["files"]}
    assert {"fits.csv", "figures/scaling_alpha_set.png", "figures/learning_curves.pdf"} <= hrefs


def test_page_is_self_contained(synthetic_report):
    text = synthetic_report.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"<(link|img|iframe)\b|\ssrc=", text)
    assert "synthetic &lt;test&gt;" in text  # the title is escaped


def test_every_dataset_group_and_method_is_in_the_coefficient_table(synthetic_report):
    fits = pd.read_csv(synthetic_report.parent / "fits.csv")
    keys = set(zip(fits["downstream_dataset"], fits["group"], fits["method"]))
    for dataset in ("alpha_set", "beta_set", "tiny"):
        for method in DEFAULT_METHODS:
            assert (dataset, "openclip", method) in keys
    ok = fits[(fits["downstream_dataset"] == "beta_set") & (fits["group"] == "openclip") & (fits["method"] == "paper")]
    assert ok["alpha"].iloc[0] == pytest.approx(-0.25, abs=0.03)  # the synthetic law's exponent
    tiny = fits[fits["downstream_dataset"] == "tiny"]
    assert tiny["alpha"].isna().all() and tiny["note"].str.contains("too few").all()


def test_predictions_compare_predicted_and_actual(synthetic_report):
    pred = pd.read_csv(synthetic_report.parent / "predictions.csv")
    assert {"actual_error_pct", "predicted_error_pct", "residual_pct_points"} <= set(pred.columns)
    assert (pred["predicted_error_pct"] - pred["actual_error_pct"]).sub(pred["residual_pct_points"]).abs().max() < 1e-9
    paper = pred[(pred["method"] == "paper") & (pred["downstream_dataset"] == "alpha_set")]
    # two CLIP-WIT points: a line through them has no scatter to judge it by, so it is not shown
    assert not (paper["group"] == "openai").any()
    law = embedded(synthetic_report)["laws"]["alpha_set"]["paper"]["openai"]
    assert law["untrusted"] == "too few points" and "x" not in law
    # the paper's law follows the best run per compute bin: it lies on or under the points
    assert paper.loc[paper["group"] == "openclip", "residual_pct_points"].between(-10, 1).all()


def test_too_few_points_are_named_in_the_notes(synthetic_report):
    data = embedded(synthetic_report)
    assert any("tiny / openclip" in p for p in data["problems"])
    law = data["laws"]["tiny"]["paper"]["openclip"]
    assert "too few" in law["missing"]
    assert data["laws"]["alpha_set"]["paper"]["openclip"]["lo"]  # a band comes with each fitted law


def test_caller_fits_are_shown_instead_of_refitting(tmp_path, synthetic_results):
    from clipscale.laws import fit_table

    fits = fit_table(synthetic_results[synthetic_results["downstream_dataset"] != "tiny"], method="paper", n_boot=20)
    index = build_report(synthetic_results, tmp_path, fits=fits, **FAST)
    data = embedded(index)
    assert data["methods"] == ["paper"]
    law = data["laws"]["beta_set"]["paper"]["openclip"]
    given = fits[(fits["downstream_dataset"] == "beta_set") & (fits["group"] == "openclip")]
    assert law["formula"] == given["formula"].iloc[0]
    assert law["alpha"] == pytest.approx(given["alpha"].iloc[0])


def test_backtest_table_is_shown(tmp_path, synthetic_results):
    bt = pd.DataFrame({"downstream_dataset": ["alpha_set"], "predicted_error_pct": [40.0], "actual_error_pct": [41.5]})
    index = build_report(synthetic_results, tmp_path, backtest=bt, methods=("paper",), **FAST)
    assert embedded(index)["backtest"]["rows"] == [["alpha_set", 40.0, 41.5]]
    assert len(pd.read_csv(tmp_path / "backtest.csv")) == 1
    assert embedded(index)["in_sample"] is None


def test_in_sample_predictions_are_not_shown_as_a_backtest(tmp_path, synthetic_results):
    ins = pd.DataFrame({"downstream_dataset": ["alpha_set"], "predicted_error_pct": [40.0], "actual_error_pct": [41.5]})
    index = build_report(synthetic_results, tmp_path, in_sample=ins, methods=("paper",), **FAST)
    data = embedded(index)
    assert data["in_sample"]["rows"] == [["alpha_set", 40.0, 41.5]] and data["backtest"] is None
    assert "In-sample predictions" in index.read_text()
    assert not (tmp_path / "backtest.csv").exists()


def test_empty_results_still_give_a_page(tmp_path):
    index = build_report(pd.DataFrame(), tmp_path, **FAST)
    data = embedded(index)
    assert data["datasets"] == [] and data["coefficients"]["rows"] == []
    assert "empty" in data["problems"][0]


def test_unknown_figure_dataset_fails_before_writing(tmp_path, synthetic_results):
    with pytest.raises(NotFoundError, match="valid choices: alpha_set, beta_set, tiny"):
        build_report(synthetic_results, tmp_path / "out", figure_datasets=["imagenet1k"])
    assert not (tmp_path / "out").exists()


def test_cli_report(tmp_path, synthetic_results, synthetic_curves, capsys):
    synthetic_results.to_csv(tmp_path / "results.csv", index=False)
    synthetic_curves.to_csv(tmp_path / "curves.csv", index=False)
    rc = main(["report", str(tmp_path / "results.csv"), "--curves", str(tmp_path / "curves.csv"),
               "--out", str(tmp_path / "out"), "--methods", "paper,frontier", "--n-boot", "20"])
    assert rc == 0
    assert capsys.readouterr().out.strip().endswith("index.html")
    data = embedded(tmp_path / "out" / "index.html")
    assert data["methods"] == ["paper", "frontier"] and len(data["curves"]["runs"]) == 4


@pytest.mark.parametrize("text, said", [
    ("", "is empty"),
    ('a,b\n1,"unterminated\n', "could not be read as CSV"),
    ("arch,gmacs_total\n", "no rows"),
    ("this is no table\nat all\n", "none of the results table's columns"),
])
def test_cli_empty_or_malformed_tables_are_one_line_errors(tmp_path, capsys, text, said):
    """Given on the command line, a table must be one: exit 2 and one line, no page (the library still
    draws a page that names the problem: test_empty_results_still_give_a_page)."""
    (tmp_path / "t.csv").write_text(text)
    assert main(["report", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o"), "--n-boot", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and not (tmp_path / "o").exists()


def test_cli_user_errors_exit_2(tmp_path, synthetic_results, capsys):
    assert main(["report", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    synthetic_results.to_csv(tmp_path / "r.csv", index=False)
    assert main(["report", str(tmp_path / "r.csv"), "--out", str(tmp_path / "o"), "--methods", "bogus"]) == 2
    assert "unknown fit method 'bogus'" in capsys.readouterr().err


def test_a_study_shaped_input(tmp_path, synthetic_results, synthetic_curves):
    """As clipscale.study passes them: fits per dataset only (no group), a headline dataset, curves
    whose rows name checkpoints and carry a `run` column, retrieval tasks scored by recall@5."""
    from clipscale.laws import fit_table

    results = synthetic_results[synthetic_results["upstream_dataset"] != "CLIP-WIT"]
    fits = fit_table(results, group_by=["downstream_dataset"], method="paper", n_boot=0)
    fits["headline"] = fits["downstream_dataset"] == "beta_set"
    curves = synthetic_curves.assign(run=synthetic_curves["name"], name="epoch_x.pt",
                                     samples_seen_pretty=synthetic_curves["epoch"].astype(str) + "M")
    retrieval = curves.assign(downstream_dataset="mscoco_captions", acc1=float("nan"),
                              **{"image_retrieval_recall@5": 0.5})
    index = build_report(results, tmp_path, fits=fits, curves=pd.concat([curves, retrieval]), **FAST)
    data = embedded(index)
    assert data["default_dataset"] == "beta_set"
    assert data["laws"]["beta_set"]["paper"]["openclip"]["formula"].startswith("E = ")
    assert [r[0] for r in data["coefficients"]["rows"]] == list(fits["downstream_dataset"])
    runs = data["curves"]["runs"]
    assert len(runs) == 8 and {r["name"] for r in runs} == set(synthetic_curves["name"])
    assert {r["samples_pretty"] for r in runs} == {"6M"}            # the run's, not each checkpoint's
    coco = [r for r in runs if r["dataset"] == "mscoco_captions"][0]
    assert coco["error"] == [0.5] * 6
    assert len(data["problems"]) == 1 and "tiny / openclip" in data["problems"][0]  # 1 point: no fit


def test_cli_holdout_and_own_figures(tmp_path, synthetic_results):
    synthetic_results.to_csv(tmp_path / "r.csv", index=False)
    own = tmp_path / "my law #1.png"
    own.write_bytes(b"\x89PNG fake")
    rc = main(["report", str(tmp_path / "r.csv"), "--out", str(tmp_path / "out"), "--methods", "paper",
               "--n-boot", "0", "--holdout", "3", "--figure", str(own), "--figure-dataset", "beta_set"])
    assert rc == 0
    backtest = pd.read_csv(tmp_path / "out" / "backtest.csv")
    assert set(backtest["downstream_dataset"]) == {"alpha_set", "beta_set"}   # tiny and CLIP-WIT too small
    assert (backtest.groupby("downstream_dataset").size() == 3).all()
    assert backtest["abs_miss_pct_points"].max() < 15
    assert (tmp_path / "out" / "figures" / "my law #1.png").read_bytes() == own.read_bytes()
    hrefs = [f["href"] for f in embedded(tmp_path / "out" / "index.html")["files"]]
    assert "figures/my%20law%20%231.png" in hrefs and "figures/scaling_beta_set.pdf" in hrefs
    bands = embedded(tmp_path / "out" / "index.html")["laws"]["beta_set"]["paper"]["openclip"]
    assert "lo" not in bands                                               # --n-boot 0: no band
