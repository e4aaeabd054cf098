"""Metric definitions on hand-made cases (fractions in [0, 1])."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from clipscale.evaluate import metrics


def test_topk_accuracy_by_hand():
    logits = torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.1, 0.2, 0.7]])
    target = torch.tensor([0, 1, 1, 0])
    acc1, acc2, acc5 = metrics.topk_accuracy(logits, target, (1, 2, 5))
    assert acc1 == pytest.approx(1 / 4)
    assert acc2 == pytest.approx(3 / 4)  # images 1 and 2 have their class second, image 3 third
    assert math.isnan(acc5)  # only 3 classes, as clip_benchmark reports acc5 = NaN


def test_mean_per_class_recall_weights_classes_equally():
    # class 0: 3 images all right; class 1: 1 image wrong -> acc1 0.75, mean per-class recall 0.5
    logits = torch.tensor([[1.0, 0.0]] * 4)
    target = torch.tensor([0, 0, 0, 1])
    m = metrics.classification_metrics(logits, target)
    assert m["acc1"] == pytest.approx(0.75)
    assert m["mean_per_class_recall"] == pytest.approx(0.5)


def test_average_precision_matches_sklearn_without_ties():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 4))
    targets = (rng.random((50, 4)) < 0.3).astype(np.float32)
    ours = metrics.average_precision_per_class(torch.tensor(scores), torch.tensor(targets)).numpy()
    ref = [average_precision_score(targets[:, k], scores[:, k]) for k in range(4)]
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_retrieval_recall_counts_any_caption():
    # 2 images, captions 0,1 -> image 0, caption 2 -> image 1
    scores = torch.tensor([[0.9, 0.1],   # caption 0 finds image 0
                           [0.2, 0.8],   # caption 1 finds image 1 (wrong)
                           [0.3, 0.7]])  # caption 2 finds image 1
    owner = torch.tensor([0, 0, 1])
    r = metrics.retrieval_recall(scores, owner, ks=(1,))
    assert r["image_retrieval_recall@1"] == pytest.approx(2 / 3)
    # image 0's best caption is 0 (its own); image 1's best caption is caption 1 (image 0's) -> 1/2
    assert r["text_retrieval_recall@1"] == pytest.approx(1 / 2)
