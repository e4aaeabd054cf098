"""The report's answer (issue 23 items 6 and 7): numbers equal the laws' own predictions, laws the
runs do not support are named and not drawn, the reliability plot counts the held-out runs."""
import json
import re

import numpy as np
import pandas as pd
import pytest

from clipscale.laws import perrun_laws
from clipscale.laws.calibrate import new_run_interval
from clipscale.laws.defaults import FRONTIER_METHOD, PER_RUN_LAW
from clipscale.laws.recommended import fit_law
from clipscale.laws.rolling import frontier_targets
from clipscale.report import build_report
from clipscale.report._trust import clip_error

N_BOOT = 40


def embedded(index) -> dict:
    text = index.read_text(encoding="utf-8")
    return json.loads(re.search(r'<script id="report-data" type="application/json">(.*?)</script>', text, re.S).group(1))


def section(index) -> str:
    return re.search(r'<section id="answer-section">(.*?)</section>', index.read_text(encoding="utf-8"), re.S).group(1)


def pct1(v: float) -> str:
    return f"{100 * v:.1f}%"


@pytest.fixture(scope="module")
def report(tmp_path_factory, synthetic_results):
    out = tmp_path_factory.mktemp("answer")
    return build_report(synthetic_results, out, n_boot=N_BOOT, figure_datasets=[])


def _group(results: pd.DataFrame, dataset: str, upstream=("tiny-A", "tiny-B")) -> pd.DataFrame:
    return results[(results["downstream_dataset"] == dataset) & results["upstream_dataset"].isin(upstream)]


def test_answer_numbers_are_the_recommended_laws_prediction(report, synthetic_results):
    data = embedded(report)
    panel = data["default_dataset"]
    sub = _group(synthetic_results, panel)
    c, e = sub["gmacs_total"].to_numpy(float), 1 - sub["acc1"].to_numpy(float)
    fit = fit_law(c, e, FRONTIER_METHOD, n_boot=N_BOOT, seed=0)   # the same law, fitted here
    at = np.array([c.max(), 10 * c.max()])
    lo, hi = new_run_interval(fit, at, 0.9)
    html = section(report)
    row = re.search(r'<tr data-status="ok"><td>openclip</td>(.*?)</tr>', html, re.S).group(1)
    for pred, a, b in zip(fit.predict(at), lo, hi):
        assert f"<b>{pct1(pred)}</b> ({pct1(a)} – {pct1(b)})" in row
    shown = [float(v) for v in re.findall(r'data-error="([0-9.e-]+)"', row)]
    assert shown == pytest.approx(list(fit.predict(at)), rel=1e-9)
    assert fit.formula() in row
    assert f"{c.max():.2e} GMACs" in row  # the largest run's compute, 3 significant digits


def test_next_model_up_is_the_per_run_laws_prediction(report, synthetic_results):
    html = section(report)
    sub = _group(synthetic_results, embedded(report)["default_dataset"])
    n, d = sub["gmacs"].to_numpy(float), sub["samples_seen"].to_numpy(float)
    sizes = np.unique(n)
    n_next, d_next = sizes[-1] ** 2 / sizes[-2], d[n == sizes[-1]].max()
    assert f"N = {n_next:.3g} GMACs per sample" in html
    model = perrun_laws.get(PER_RUN_LAW).fit(n, d, 1 - sub["acc1"].to_numpy(float), None, n_boot=N_BOOT, seed=0)
    status, item = re.search(r'<li[^>]*data-status="([^"]+)"[^>]*>(<b>openclip</b>.*?)</li>', html, re.S).groups()
    assert status == "ok"  # 4 sizes x 3 sample counts: the law is identified
    pred = model.predict(np.array([n_next]), np.array([d_next]))[0]
    lo, hi = model.predict_interval(np.array([n_next]), np.array([d_next]), level=0.9)
    assert f"<b>{pct1(pred)}</b> ({pct1(lo[0])} – {pct1(hi[0])})" in item
    assert float(re.search(r'data-error="([0-9.e-]+)"', item).group(1)) == pytest.approx(pred, rel=1e-9)


@pytest.mark.parametrize("target, csv, words", [("frontier", "heldout.csv", "held-out frontier runs"),
                                                 ("runs", "heldout_runs.csv", "held-out runs")])
def test_backtest_count_and_reliability_match_the_held_out_rows(report, target, csv, words):
    held = pd.read_csv(report.parent / csv)
    rel = {s["target"]: s for s in embedded(report)["reliability"]}[target]
    assert rel["n"] == len(held) > 0 and rel["nominal"] == [0.5, 0.8, 0.9, 0.95]
    assert rel["observed"][2] == pytest.approx(held["inside_90"].mean())
    # the 90% column recomputed from the interval ends, not read from inside_90
    inside = int(((held["actual_error_pct"] >= held["lo90_error_pct"]) & (held["actual_error_pct"] <= held["hi90_error_pct"])).sum())
    assert f'data-inside="{inside}" data-n="{len(held)}"' in section(report)
    assert f"<b>{inside} of {len(held)}</b> {words} inside" in section(report)
    assert 'id="reliability-plot"' in section(report)


def test_fitted_frontier_points_are_marked(report):
    data = embedded(report)
    panel = data["default_dataset"]
    law = data["laws"][panel][FRONTIER_METHOD]["openclip"]
    pts = [p for p in data["points"][panel] if p["group"] == "openclip"]
    on = frontier_targets([p["compute"] for p in pts], [p["error"] for p in pts])
    assert sorted(law["fitted"]) == sorted(p["id"] for p, k in zip(pts, on) if k)


def test_two_point_group_is_one_line_and_not_drawn(report):
    data = embedded(report)
    law = data["laws"][data["default_dataset"]][FRONTIER_METHOD]["openai"]
    assert law["untrusted"] == "too few points" and "x" not in law
    assert re.search(r'<tr data-status="too few points"><td>openai</td>.*?too few points', section(report), re.S)


def _near_chance(chance=0.9) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for i, arch in enumerate(("a", "b", "c")):
        for samples in (1e4, 3e4, 1e5, 3e5):
            c = (i + 1) * samples
            rows.append({"arch": arch, "gmacs": float(i + 1), "samples_seen": samples, "gmacs_total": c,
                         "upstream_dataset": "toy", "downstream_dataset": "toy/objects", "chance_error": chance,
                         "acc1": 1 - (chance - 0.002 * np.log10(c) + rng.normal(0, 0.001)),
                         "name": "epoch_1.pt", "run": f"{arch}-run", "samples_seen_pretty": f"{samples:.0e}"})
    return pd.DataFrame(rows)


def test_near_chance_says_not_learned_yet_and_draws_nothing(tmp_path):
    index = build_report(_near_chance(), tmp_path, n_boot=N_BOOT, figure_datasets=["toy/objects"])
    data = embedded(index)
    for law in data["laws"]["toy/objects"][FRONTIER_METHOD].values():
        assert law["untrusted"] == "not learned yet" and "x" not in law and "chance is 90.0%" in law["reason"]
    html = section(index)
    assert 'data-status="not learned yet"' in html and "data-error" not in html
    coef = pd.read_csv(tmp_path / "fits.csv")
    assert "alpha" not in coef.columns or coef["alpha"].isna().all()  # not tabulated
    assert coef["note"].str.contains("not learned yet").all()


def test_run_names_not_checkpoint_names(tmp_path):
    data = embedded(build_report(_near_chance(), tmp_path, n_boot=0, figure_datasets=[]))
    names = {p["name"] for p in data["points"]["toy/objects"]}
    assert "epoch_1.pt" not in names and any(n.startswith("a-run @ ") for n in names)


def _two_sizes() -> pd.DataFrame:
    """Two model sizes only: the joint law's size exponent cannot be pinned down."""
    rows = []
    for n in (1.0, 2.0):
        for d in (1e4, 2e4, 4e4, 8e4, 1.6e5):
            rows.append({"arch": f"m{n:g}", "gmacs": n, "samples_seen": d, "gmacs_total": n * d,
                         "upstream_dataset": "toy", "downstream_dataset": "toy/objects",
                         "acc1": 1 - (0.05 + 0.5 / n ** 0.3 + 40 / d ** 0.5), "samples_seen_pretty": f"{d:.0e}"})
    return pd.DataFrame(rows)


def test_not_identified_joint_law_is_named_with_its_reason_not_tabulated(tmp_path):
    from clipscale.laws.joint_table import fit_joint_groups

    table = _two_sizes()
    fits = fit_joint_groups(table, size_col="gmacs", data_col="samples_seen", size_unit="gmacs",
                            group_by=["downstream_dataset"], n_boot=N_BOOT, seed=0)
    index = build_report(table, tmp_path, fits=fits, n_boot=N_BOOT, figure_datasets=[])
    joint = embedded(index)["joint"]
    assert joint["laws"] == []  # no parameter or budget table
    assert len(joint["failed"]) == 1 and "not identified" in joint["failed"][0]
    assert "2 model sizes" in joint["failed"][0]  # the reason
    assert not (tmp_path / "compute_optimal.csv").exists()
    assert re.search(r'data-status="not identified".*?2 model sizes', section(index), re.S)


def test_steep_law_is_never_drawn_above_100_percent(tmp_path):
    c = np.geomspace(1e3, 1e6, 12)
    table = pd.DataFrame({"arch": "m", "samples_seen": c, "gmacs_total": c, "gmacs": 1.0, "upstream_dataset": "toy",
                          "downstream_dataset": "toy/steep", "acc1": 1 - 0.95 * (c / 1e3) ** -0.6})
    data = embedded(build_report(table, tmp_path, methods=("paper",), n_boot=N_BOOT, figure_datasets=[]))
    law = data["laws"]["toy/steep"]["paper"]["openclip"]
    for key in ("y", "lo", "hi"):
        assert max(law[key]) <= 1.0
    assert clip_error([0.5, 1.7, float("nan")])[:2] == [0.5, 1.0]


def test_unmet_targets_and_facts_are_on_the_page_and_only_problems_in_the_box(tmp_path):
    index = build_report(_two_sizes(), tmp_path, n_boot=0, figure_datasets=[], notes=["2 of 12 runs missing: x"],
                         unmet=["compute spans 1.20 < 2 decades"], facts=["wall-time budget 600 s: planned 580 s"])
    html, data = section(index), embedded(index)
    assert "Demo targets not met (1)" in html and "compute spans 1.20 &lt; 2 decades" in html
    assert "wall-time budget 600 s" in html
    assert data["problems"] == ["2 of 12 runs missing: x"]
    met = build_report(_two_sizes(), tmp_path / "met", n_boot=0, figure_datasets=[], unmet=[])
    assert "every target met" in section(met)


def test_a_flat_law_on_the_papers_data_is_not_identified_and_not_drawn(tmp_path, paper_dir):
    """vtab/dsprites_label_orientation: error does not fall with compute in the paper's runs."""
    results = pd.read_csv(paper_dir / "zeroshot_results.csv")
    flat = results[results["downstream_dataset"] == "vtab/dsprites_label_orientation"]
    data = embedded(build_report(flat, tmp_path, methods=("paper",), n_boot=N_BOOT, figure_datasets=[]))
    law = data["laws"]["vtab/dsprites_label_orientation"]["paper"]["openclip"]
    assert law["untrusted"] == "not identified" and "x" not in law and "alpha" not in law
    assert "compute exponent's 95% interval" in law["reason"]
