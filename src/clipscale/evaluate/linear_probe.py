"""Linear probe on frozen, unit-norm image features: multinomial logistic regression on CPU.

clip_benchmark's probe trains a torch layer with AdamW and only runs on CUDA (it asserts so); this one
uses scikit-learn's L-BFGS logistic regression, which is exact, deterministic and fast at the
feature sizes of this project. The inverse regularisation C is chosen by stratified 3-fold
cross-validation on the training split (a subsample of CV_MAX_ROWS when larger) over a log grid (as clip_benchmark searches weight decay on a
validation split), then the probe is refitted on the whole training split.
Few-shot: k images per class drawn with a fixed seed (fewer when a class has fewer).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from clipscale.errors import DataError
from clipscale.evaluate import metrics

C_GRID: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0)
DEFAULT_C = 10.0  # used when a class has too few images to cross-validate (1-shot)
CV_MAX_ROWS = 5000  # C is chosen on a seeded stratified subsample of at most this many training images


def fewshot_indices(labels: np.ndarray, k: int | None, seed: int = 0) -> np.ndarray:
    """Row indices of at most k images per class (all rows when k is None), sorted, seeded."""
    if k is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:k] for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))


def _logistic(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000, tol=1e-6)


def choose_c(x: np.ndarray, y: np.ndarray, grid=C_GRID) -> float:
    """C with the best mean 3-fold accuracy (ties: the smaller C); DEFAULT_C when folds are impossible."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if len(y) > CV_MAX_ROWS:  # the search is 15 fits: keep it affordable on large training splits
        from sklearn.model_selection import train_test_split

        try:
            x, _, y, _ = train_test_split(x, y, train_size=CV_MAX_ROWS, random_state=0, stratify=y)
        except ValueError:  # a class with a single image cannot be stratified
            x, _, y, _ = train_test_split(x, y, train_size=CV_MAX_ROWS, random_state=0)
    counts = np.bincount(y)
    folds = int(min(3, counts[counts > 0].min()))
    if folds < 2 or len(np.unique(y)) < 2:
        return DEFAULT_C
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores = [cross_val_score(_logistic(c), x, y, cv=cv).mean() for c in grid]
    return float(grid[int(np.argmax(scores))])


def fit(train_x: torch.Tensor, train_y, n_classes: int, *, fewshot_k: int | None = None,
        seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    """(weight (n_classes, D), bias (n_classes,), chosen C, training rows) of the probe, float64.

    logits = x @ weight.T + bias are the probe's scores on unit-norm features x; a class absent from
    the (few-shot) training sample gets weight 0 and bias -inf (it can never be predicted).
    """
    ytr = np.asarray([int(v) for v in train_y])
    rows = fewshot_indices(ytr, fewshot_k, seed)
    x, y = train_x[rows].numpy().astype(np.float64), ytr[rows]
    if len(np.unique(y)) < 2:
        raise DataError(f"a linear probe needs at least 2 classes in the training split, got {len(np.unique(y))}")
    c = choose_c(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the fit is still the best found
        clf = _logistic(c).fit(x, y)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # binary: sklearn keeps one row (the score of class 1); scores are (-s, s)
        coef, intercept = np.concatenate([-coef, coef]), np.concatenate([-intercept, intercept])
    weight = torch.zeros(n_classes, x.shape[1], dtype=torch.float64)
    bias = torch.full((n_classes,), -float("inf"), dtype=torch.float64)
    weight[clf.classes_], bias[clf.classes_] = torch.from_numpy(coef), torch.from_numpy(intercept)
    return weight, bias, c, int(len(rows))


def probe(train_x: torch.Tensor, train_y, test_x: torch.Tensor, test_y, n_classes: int, *,
          fewshot_k: int | None = None, seed: int = 0) -> dict[str, float]:
    """acc1, acc5, mean per-class recall (fractions) of a logistic-regression probe; plus chosen C."""
    weight, bias, c, n = fit(train_x, train_y, n_classes, fewshot_k=fewshot_k, seed=seed)
    logits = test_x.double() @ weight.T + bias  # classes absent from the few-shot sample: -inf
    target = torch.as_tensor([int(v) for v in test_y])
    out = metrics.classification_metrics(logits, target)
    out.update({"probe_C": c, "train_images": n})
    return out
