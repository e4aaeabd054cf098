"""The CPU linear probe: few-shot sampling, C selection, classes missing from a few-shot sample."""
from __future__ import annotations

import numpy as np
import torch

from clipscale.evaluate import linear_probe


def test_probe_chooses_c_on_a_subsample_of_large_splits(monkeypatch):
    import sklearn.model_selection as ms

    seen_rows = []
    real = ms.cross_val_score
    monkeypatch.setattr(ms, "cross_val_score", lambda est, x, y, cv: seen_rows.append(len(y)) or real(est, x, y, cv=cv))
    monkeypatch.setattr(linear_probe, "CV_MAX_ROWS", 50)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 4, generator=g)
    y = (x[:, 0] + 0.1 * x[:, 1] > 0).long().numpy()
    assert linear_probe.choose_c(x.numpy(), y) in linear_probe.C_GRID
    assert seen_rows == [50] * len(linear_probe.C_GRID)


def test_fewshot_sample_is_seeded_and_capped_per_class():
    labels = np.array([0] * 5 + [1] * 2 + [2] * 9)
    rows = linear_probe.fewshot_indices(labels, 3, seed=0)
    assert np.bincount(labels[rows]).tolist() == [3, 2, 3]
    assert np.array_equal(rows, linear_probe.fewshot_indices(labels, 3, seed=0))
    assert not np.array_equal(rows, linear_probe.fewshot_indices(labels, 3, seed=1))


def test_class_absent_from_training_is_never_predicted():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 3, generator=g)
    y = (x[:, 0] > 0).long()  # classes 0 and 1 only; the task has 3
    out = linear_probe.probe(x, y, x, torch.full((30,), 2), n_classes=3)
    assert out["acc1"] == 0.0 and out["mean_per_class_recall"] == 0.0


def test_fit_gives_sklearn_scores_of_a_binary_probe():
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(2)
    x = torch.randn(60, 3, generator=g)
    y = (x[:, 0] - x[:, 2] > 0).long()
    weight, bias, c, _ = linear_probe.fit(x, y, n_classes=2)
    s = LogisticRegression(C=c, max_iter=2000, tol=1e-6).fit(x.double().numpy(), y.numpy()).decision_function(
        x.double().numpy())
    scores = (x.double() @ weight.T + bias).numpy()
    assert np.allclose(scores, np.stack([-s, s], axis=1))
