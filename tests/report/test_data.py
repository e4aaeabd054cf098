"""Normalising the report's inputs: results rows, both learning-curve layouts, bad tables."""
import numpy as np
import pandas as pd
import pytest

from clipscale.errors import DataError
from clipscale.report._data import Problems, normalise_curves, normalise_results, parse_count


def test_parse_count():
    assert parse_count("13B") == 13e9
    assert parse_count("86k") == 86e3
    assert parse_count("400M") == 400e6
    assert np.isnan(parse_count("lots"))


def test_results_error_is_one_minus_the_default_metric(synthetic_results):
    problems = Problems()
    points = normalise_results(synthetic_results, problems)
    assert len(points) == len(synthetic_results)
    row = synthetic_results.iloc[0]
    assert points.loc[0, "error"] == pytest.approx(1 - row["acc1"])
    assert points.loc[0, "compute"] == row["gmacs_total"]
    assert set(points["group"]) == {"openclip", "openai"}
    assert problems.items == []


def test_retrieval_uses_recall_and_total_gmacs_is_derived():
    df = pd.DataFrame({"downstream_dataset": ["mscoco_captions"], "gmacs": [2.0], "samples_seen": [1e6],
                       "image_retrieval_recall@5": [0.25], "acc1": [0.9], "upstream_dataset": ["LAION-2B"]})
    points = normalise_results(df, Problems())
    assert points.loc[0, "error"] == pytest.approx(0.75)
    assert points.loc[0, "compute"] == pytest.approx(2e6)


def test_bad_rows_are_dropped_and_counted(synthetic_results):
    df = synthetic_results.head(5).copy()
    df["acc1"] = df["acc1"].astype(object)
    df.loc[0, "acc1"] = "n/a"
    df.loc[1, "gmacs_total"] = -3
    problems = Problems()
    points = normalise_results(df, problems)
    assert len(points) == 3
    assert any("2 of 5 result rows were left out" in p for p in problems.items)


@pytest.mark.parametrize("table, expected", [
    (pd.DataFrame(), "empty"),
    (pd.DataFrame({"arch": ["ViT-B-32"], "acc1": [0.5]}), "downstream_dataset, gmacs_total"),
])
def test_empty_or_malformed_results_say_what_is_missing(table, expected):
    problems = Problems()
    points = normalise_results(table, problems)
    assert points.empty
    assert expected in " ".join(problems.items)


def test_results_must_be_a_dataframe():
    with pytest.raises(DataError, match="DataFrame"):
        normalise_results("results.csv", Problems())


def test_paper_curves_layout(paper_dir):
    results = pd.read_csv(paper_dir / "zeroshot_results.csv")
    curves = normalise_curves(pd.read_csv(paper_dir / "imagenet_zeroshot_learning_curves.csv"), results, Problems())
    run = curves[curves["name"] == "Model-B-32_Data-400M_Samples-13B_lr-1e-3_bs-86k.pt"]
    assert set(run["arch"]) == {"ViT-B-32"} and set(run["data"]) == {"LAION-400M"}
    last = run.loc[run["epoch"].idxmax()]
    exact = results.loc[results["name"] == last["name"], "samples_seen"].iloc[0]
    assert last["samples_seen"] == pytest.approx(exact)          # the last epoch saw all samples
    assert last["step"] == pytest.approx(exact / 86e3)            # global batch from "bs-86k"
    first = run.loc[run["epoch"].idxmin()]
    assert 0 < last["error"] < first["error"] < 1              # training lowers the error
    assert curves["name"].nunique() == 29


def test_clipscale_curves_layout(synthetic_curves):
    curves = normalise_curves(synthetic_curves, None, Problems())
    assert len(curves) == len(synthetic_curves)
    assert set(curves["data"]) == {"tiny-A", "tiny-B"}
    assert curves["step"].max() == 6 * 250
    assert set(curves["samples_pretty"]) == {"6M"}
    got = curves.set_index(["name", "epoch"])["error"]
    want = 1 - synthetic_curves.set_index(["name", "epoch"])["acc1"]
    assert np.allclose(got.sort_index(), want.sort_index())


def test_unknown_curve_layout_is_reported():
    problems = Problems()
    curves = normalise_curves(pd.DataFrame({"x": [1], "y": [2]}), None, problems)
    assert curves.empty
    assert "neither the paper's layout" in problems.items[0]


def test_curves_prepared_by_clipscale_paper_keep_their_exact_samples(paper_dir):
    from clipscale.paper.curves import prepare_curves

    raw = pd.read_csv(paper_dir / "imagenet_zeroshot_learning_curves.csv")
    prepared = prepare_curves(raw, pd.read_csv(paper_dir / "trained_models_info.csv"))
    curves = normalise_curves(prepared, None, Problems())
    assert len(curves) == len(raw)
    merged = curves.merge(prepared, on=["name", "epoch"], suffixes=("", "_given"))
    assert np.allclose(merged["samples_seen"], merged["samples_seen_given"])
    assert np.allclose(merged["step"], merged["step_given"])
    assert set(curves["data"]) == {"LAION-80M", "LAION-400M", "LAION-2B"}
    assert set(curves["samples_pretty"]) == {"3B", "13B", "34B"}


def test_law_is_drawn_only_where_it_predicts_a_possible_error():
    import numpy as np
    from clipscale.report import _fits

    class Steep:  # error = 8.65 * C^-0.83, above 100% below C ~ 13.5 GMACs
        def predict(self, c):
            return 8.65 * np.asarray(c, float) ** -0.83

    grid = np.geomspace(1, 1e4, 50)
    kept = _fits._possible(Steep(), grid)
    assert kept.min() > 13 and kept.max() == grid.max()
    assert np.all(Steep().predict(kept) <= 1.0)
