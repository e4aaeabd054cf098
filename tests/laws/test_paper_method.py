"""The paper's method against the paper's published laws and an independent reading of its notebook."""
import numpy as np
import pandas as pd
import pytest

from clipscale.laws import fit, fit_table
from clipscale.laws import _linear


def _notebook_reference(x, y, binned):
    """figures.ipynb `binned_line_fit`/`lstsq`, written out again with numpy for the test."""
    if binned:
        _, bins = np.histogram(x, range=(x.min(), x.max() + 0.1), bins=5)
        which = np.digitize(x, bins)
        cx, cy = [], []
        for i in range(5):
            if (which == i + 1).any():
                cx.append((bins[i] + bins[i + 1]) / 2)
                cy.append(y[which == i + 1].min())
        x, y = np.array(cx), np.array(cy)
    slope, intercept = np.linalg.lstsq(np.vstack([x, np.ones(len(x))]).T, y, rcond=None)[0]
    return slope, 10 ** intercept


@pytest.fixture(scope="module")
def results(paper_dir):
    return pd.read_csv(paper_dir / "zeroshot_results.csv")


@pytest.fixture(scope="module")
def fits(results):
    return fit_table(results, method="paper", n_boot=50).set_index(["downstream_dataset", "group"])


@pytest.mark.parametrize("group,coef,alpha", [("openclip", 5.86, -0.11), ("openai", 23.18, -0.16)])
def test_imagenet_laws_match_the_paper(fits, group, coef, alpha):
    # Cherti et al. 2023, Fig. 1 / Table: ImageNet zero-shot E = 5.86 C^-0.11 (LAION), 23.18 C^-0.16 (WIT).
    row = fits.loc[("imagenet1k", group)]
    assert round(row["coef"], 2) == coef
    assert round(row["alpha"], 2) == alpha
    assert row["formula"] == f"E = {coef:.2f} · C^{alpha:.2f}"


def test_every_dataset_and_group_matches_the_notebook_procedure(results, fits):
    assert len(fits) == 41 * 2 and (fits["status"] == "ok").all()
    for (dataset, group), row in fits.iterrows():
        d = results[results["downstream_dataset"] == dataset]
        d = d[(d["upstream_dataset"] == "CLIP-WIT") == (group == "openai")]
        metric = {"mscoco_captions": "image_retrieval_recall@5", "flickr30k": "image_retrieval_recall@5",
                  "voc2007_multilabel": "mean_average_precision"}.get(dataset, "acc1")
        slope, coef = _notebook_reference(np.log10(d["gmacs_total"].to_numpy()),
                                          np.log10(1 - d[metric].to_numpy()), binned=group == "openclip")
        assert row["alpha"] == pytest.approx(slope, rel=1e-9, abs=1e-12), (dataset, group)
        assert row["coef"] == pytest.approx(coef, rel=1e-9), (dataset, group)
        assert row["n_points"] == len(d)


def test_batched_bins_agree_with_numpy_histogram():
    rng = np.random.default_rng(3)
    xb = rng.uniform(9, 13, size=(200, 29))
    yb = rng.normal(-0.5, 0.1, size=(200, 29))
    cx, cy, w = _linear.paper_bins_batched(xb, yb)
    for row in range(200):
        ref_x, ref_y = _linear.paper_bins(xb[row], yb[row])
        keep = w[row] > 0
        np.testing.assert_allclose(cx[row][keep], ref_x, rtol=1e-12)
        np.testing.assert_array_equal(cy[row][keep], ref_y)


def test_empty_bins_are_dropped_like_the_notebook():
    # Two clusters far apart: bins 2-4 are empty, the fit uses the two non-empty bins only.
    c = np.array([1e9, 1.1e9, 1e13, 1.1e13])
    e = np.array([0.5, 0.45, 0.2, 0.25])
    res = fit(c, e, "paper", n_boot=0)
    assert res.n_fit_points == 2
    slope, coef = _notebook_reference(np.log10(c), np.log10(e), binned=True)
    assert res.alpha == pytest.approx(slope) and res.coef == pytest.approx(coef)
