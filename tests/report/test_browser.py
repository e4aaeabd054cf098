"""The report in a real browser (headless Debian Chromium): loads cleanly, controls change what is drawn.

These tests fail (never skip) when Chromium cannot start: see `make browser`.
"""
import io

import pandas as pd
import pytest

from clipscale.laws import Holdout
from clipscale.report import build_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def paper_report(tmp_path_factory, paper_dir):
    """The paper's tables; two fit methods and few bootstrap resamples keep it to a few seconds."""
    out = tmp_path_factory.mktemp("paper-report")
    return build_report(pd.read_csv(paper_dir / "zeroshot_results.csv"), out,
                        curves=pd.read_csv(paper_dir / "imagenet_zeroshot_learning_curves.csv"),
                        title="paper", methods=("paper", "frontier"), n_boot=40, figure_datasets=[])


@pytest.fixture(scope="module")
def synthetic_report(tmp_path_factory, synthetic_results, synthetic_curves):
    out = tmp_path_factory.mktemp("synthetic-report")
    return build_report(synthetic_results, out, curves=synthetic_curves, methods=("paper", "frontier"),
                        n_boot=40, figure_datasets=["beta_set"], holdout=Holdout(top=2))


def _plot_markup(page, box):
    return page.inner_html(f"#{box}")


def _formulas(page):
    return page.inner_text("#formulas")


def test_paper_report_loads_without_errors_or_network(watch, paper_report):
    page = watch.open(paper_report)
    assert watch.errors == [] and watch.network == []
    assert page.input_value("#dataset") == "imagenet1k"
    assert page.locator("#scaling-plot .point").count() == 32          # 29 OpenCLIP runs + 3 CLIP-WIT models
    assert page.locator("#scaling-plot .fit-line").count() == 2        # one law per group
    assert page.locator("#scaling-plot .band").count() == 2
    assert "E = " in _formulas(page) and "openclip (29 points)" in _formulas(page)
    assert page.locator("#coef-table tbody tr").count() == 41 * 2 * 2  # every dataset x group x method


def test_choosing_a_dataset_changes_plot_and_formula(watch, paper_report):
    page = watch.open(paper_report)
    plot, formulas = _plot_markup(page, "scaling-plot"), _formulas(page)
    page.select_option("#dataset", "cars")
    assert "cars" in page.inner_text("#scaling-title")
    assert _plot_markup(page, "scaling-plot") != plot
    assert _formulas(page) != formulas and "E = " in _formulas(page)
    rows = page.locator("#prediction-table tbody tr").count()
    assert rows == 32                                                   # predicted vs actual per point
    assert watch.errors == []


def test_toggling_the_fit_method_changes_the_law(watch, paper_report):
    page = watch.open(paper_report)
    before = page.get_attribute("#scaling-plot .fit-line >> nth=1", "d")
    formulas = _formulas(page)
    page.check("#method input[value=frontier]")
    assert page.get_attribute("#scaling-plot .fit-line >> nth=1", "d") != before
    assert _formulas(page) != formulas


def test_learning_curve_filters_and_axis(watch, paper_report):
    page = watch.open(paper_report)
    assert page.locator("#curves-plot .curve").count() == 29
    before = _plot_markup(page, "curves-plot")
    page.uncheck("#curve-arch input[value='ViT-B-32']")
    assert page.locator("#curves-plot .curve").count() == 29 - 9       # 9 ViT-B-32 runs
    assert page.inner_text("#curve-count") == "20 of 29 runs shown"
    assert _plot_markup(page, "curves-plot") != before
    page.uncheck("#curve-data input[value='LAION-80M']")
    assert page.locator("#curves-plot .curve").count() == 20 - 6       # ViT-B-16 and ViT-L-14 on 80M, 3 sizes each
    assert page.text_content("#curves-plot .axis-label >> nth=0") == "samples seen"  # the default axis
    before = _plot_markup(page, "curves-plot")
    page.select_option("#curve-x", "epoch")
    assert page.text_content("#curves-plot .axis-label >> nth=0") == "epoch"
    assert _plot_markup(page, "curves-plot") != before
    assert watch.errors == []


def test_screenshot_is_not_empty(watch, paper_report):
    from PIL import Image

    page = watch.open(paper_report)
    png = page.locator("#scaling-section").screenshot()
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size[0] > 600 and image.size[1] > 400
    lo, hi = image.getextrema()
    assert hi - lo > 200                                               # dark points and lines on a light page
    assert sum(1 for n in image.histogram() if n) > 20                # many grey levels, not a blank page
    (paper_report.parent / "screenshot.png").write_bytes(png)          # for a person to look at


def test_coefficient_table_sorts(watch, paper_report):
    page = watch.open(paper_report)
    page.click("#coef-table th:has-text('alpha') >> nth=0")
    assert page.get_attribute("#coef-table th >> nth=4", "aria-sort") == "ascending"
    values = [float(v) for v in page.locator("#coef-table tbody tr td:nth-child(5)").all_inner_texts() if v]
    assert values == sorted(values) and len(values) > 100
    page.click("#coef-table th >> nth=4")
    first = float(page.inner_text("#coef-table tbody tr:first-child td:nth-child(5)"))
    assert first == max(values)


def test_too_few_points_are_shown_on_the_page(watch, synthetic_report):
    page = watch.open(synthetic_report)
    assert watch.errors == []
    assert "tiny / openclip" in page.inner_text("#problems")
    page.select_option("#dataset", "tiny")
    assert page.locator("#scaling-plot .point").count() == 1
    assert page.locator("#scaling-plot .fit-line").count() == 0
    assert "too few" in page.inner_text("#formulas .missing")
    assert "No predictions" in page.inner_text("#prediction-table")
    assert page.locator("#scaling-figures a").count() == 0
    page.select_option("#dataset", "beta_set")
    # openclip's law is drawn; CLIP-WIT's 2 points are too few: one line under the plot, no law drawn
    assert page.locator("#scaling-plot .fit-line").count() == 1
    assert "too few points" in page.inner_text("#formulas li[data-group=openai] .untrusted")
    assert page.locator("#scaling-plot .fitted-ring").count() > 0  # the points the law was fitted to
    assert page.get_attribute("#scaling-figures a >> nth=0", "href") == "figures/scaling_beta_set.png"
    page.select_option("#curve-x", "step")
    assert page.text_content("#curves-plot .axis-label >> nth=0") == "optimizer step"


def test_backtest_table_follows_the_dataset(watch, synthetic_report):
    page = watch.open(synthetic_report)
    page.select_option("#dataset", "alpha_set")
    cells = page.locator("#backtest-table tbody tr td:first-child").all_inner_texts()
    assert set(cells) == {"alpha_set"} and len(cells) == 2 * 2       # 2 held-out runs x 2 methods (openclip)
    page.select_option("#dataset", "tiny")
    assert "No backtest rows for tiny" in page.inner_text("#backtest-table")
    page.check("#backtest-all")
    assert page.locator("#backtest-table tbody tr").count() == 2 * 2 * 2  # and beta_set's
    assert watch.errors == []


@pytest.mark.parametrize("table, says", [
    (pd.DataFrame(), "results table is empty"),
    (pd.DataFrame({"arch": ["ViT-B-32"], "acc1": [0.5]}), "lacks the column(s) downstream_dataset, gmacs_total"),
])
def test_bad_tables_render_and_say_what_is_missing(watch, tmp_path, table, says):
    index = build_report(table, tmp_path, n_boot=0, figure_datasets=[])
    page = watch.open(index)
    assert watch.errors == []
    assert says in page.inner_text("#problems")
    assert "no results to plot" in page.inner_text("#scaling-plot")
    assert "No learning curves were given" in page.inner_text("#curves-plot")


def test_answer_and_reliability_plot_render(watch, synthetic_report):
    page = watch.open(synthetic_report)
    assert watch.errors == []
    answer = page.inner_text("#answer-section")
    assert "The answer" in answer and "held-out frontier runs inside the frontier law's 90% interval" in answer
    # the reliability plot: the diagonal, and per backtest (frontier law, per-run law) a line and one
    # point per nominal level (50/80/90/95%)
    assert page.locator("#reliability-plot .diagonal").count() == 1
    assert page.locator("#reliability-plot .reliability-line").count() == 2
    assert page.locator("#reliability-plot .point").count() == 2 * 4
    assert page.locator("#answer-section").bounding_box()["y"] < page.locator("#scaling-section").bounding_box()["y"]
