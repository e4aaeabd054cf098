"""Metrics of the paper's protocol (CLIP_benchmark's definitions), all fractions in [0, 1].

- top-k accuracy: share of images whose true class is among the k highest logits.
- mean per-class recall: recall of each class present in the targets, averaged (scikit-learn's
  balanced accuracy, as clip_benchmark).
- mean average precision (multi-label): per class, the mean precision at the rank of each positive.
- retrieval recall@k, CLIP-style: for each query, 1 if at least one of its matches is in the top k.
  Image retrieval: text queries, image candidates. Text retrieval: image queries, text candidates
  (an image has several captions; any one of them counts).
Agreement with clip_benchmark's own functions to 1e-6 is tested in tests/evaluate/test_agreement.py.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch


def topk_accuracy(logits: torch.Tensor, target: torch.Tensor, ks=(1, 5)) -> list[float]:
    """Top-k accuracies (fractions) for each k; NaN for a k larger than the number of classes."""
    n_classes = logits.shape[1]
    kmax = min(max(ks), n_classes)
    pred = logits.topk(kmax, dim=1, largest=True, sorted=True).indices
    hit = pred.eq(target.view(-1, 1))
    return [float("nan") if k > n_classes else hit[:, :k].any(dim=1).float().mean().item() for k in ks]


def classification_metrics(logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """acc1, acc5 (NaN under 5 classes, as clip_benchmark) and mean per-class recall, as fractions."""
    from sklearn.metrics import balanced_accuracy_score

    acc1, acc5 = topk_accuracy(logits, target, (1, 5))
    pred = logits.argmax(dim=1)
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": expected when a few images cover many classes.
        warnings.simplefilter("ignore", UserWarning)
        mpcr = float(balanced_accuracy_score(target.numpy(), pred.numpy()))
    return {"acc1": acc1, "acc5": acc5, "mean_per_class_recall": mpcr}


def average_precision_per_class(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Average precision of each class (multi-label): mean precision at the rank of each positive.

    scores: (N, C) logits; targets: (N, C) 0/1. Classes without positives get 0 (as clip_benchmark).
    """
    order = scores.argsort(dim=0, descending=True, stable=True)
    truth = targets.gather(0, order).float()  # (N, C), positives in rank order
    ranks = torch.arange(1, scores.shape[0] + 1, dtype=torch.float32).view(-1, 1)
    precision = truth.cumsum(0) / ranks
    return (precision * truth).sum(0) / truth.sum(0).clamp(min=1.0)


def multilabel_metrics(scores: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """mean_average_precision (a fraction) for a multi-label task."""
    return {"mean_average_precision": average_precision_per_class(scores, targets).mean().item()}


def retrieval_recall(scores: torch.Tensor, text_image_index: torch.Tensor, ks=(1, 5, 10)) -> dict[str, float]:
    """Image and text retrieval recall@k (fractions) from text-image similarities.

    scores: (n_texts, n_images); text_image_index[t] = the image caption t belongs to.
    """
    n_texts, n_images = scores.shape
    text_image_index = text_image_index.long()
    out: dict[str, float] = {}
    for k in ks:
        top_images = scores.topk(min(k, n_images), dim=1).indices  # text -> images
        img_hit = top_images.eq(text_image_index.view(-1, 1)).any(dim=1)
        top_texts = scores.t().topk(min(k, n_texts), dim=1).indices  # image -> texts
        txt_hit = text_image_index[top_texts].eq(torch.arange(n_images).view(-1, 1)).any(dim=1)
        out[f"image_retrieval_recall@{k}"] = img_hit.float().mean().item()
        out[f"text_retrieval_recall@{k}"] = txt_hit.float().mean().item()
    return out


def as_tensor(x) -> torch.Tensor:
    """A CPU tensor from a tensor, array or list (labels and scores from any source)."""
    return x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
