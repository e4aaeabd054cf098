"""Rolling-origin backtests inside a fitted range: the shared cut rule and the frontier targets.

A frontier law claims to predict the best error reachable at a compute: the runs on the compute
frontier. A rolling-origin backtest fits the runs at or below a cut and predicts the frontier runs
above it, for every cut that keeps enough runs; it uses only the runs a fit saw, so what it measures
(the law's error at a distance, which form predicts better) can set a fit's intervals and form
without touching held-out runs. Used by clipscale.laws.calibrate (growth of the error with distance)
and clipscale.laws.autoform (the choice of the law's form).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from clipscale.errors import ClipscaleError, DataError
from clipscale.laws.methods import get as get_method
from clipscale.laws.result import PARAM_NAMES, from_space, law_log10, to_space

#: every cut keeps at least this fraction of the fitted runs (and the method's minimum + 1): fits on
#: fewer runs would measure a law much less constrained than the final fit
MIN_TRAIN_FRAC = 0.5


def frontier_targets(compute, error) -> np.ndarray:
    """Runs on the compute frontier: error at or below that of every strictly cheaper run (a tie
    with a cheaper run's error counts as on the frontier; the cheapest run always is)."""
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    out = np.zeros(len(c), bool)
    for i in range(len(c)):
        cheaper = e[c < c[i]]
        out[i] = cheaper.size == 0 or e[i] <= cheaper.min()
    return out


def cuts(compute, error, min_train: int, min_train_frac: float = MIN_TRAIN_FRAC) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
    """(cut, train mask, target mask) for every fitted compute that keeps at least
    max(min_train, min_train_frac x n) runs at or below it and leaves a frontier run above it."""
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    need = max(int(min_train), math.ceil(min_train_frac * len(c)))
    target = frontier_targets(c, e)
    for cut in np.unique(c):
        train, ahead = c <= cut, target & (c > cut)
        if train.sum() >= need and ahead.any():
            yield float(cut), train, ahead


def point_predictions(compute, error, method: str, min_train_frac: float = MIN_TRAIN_FRAC,
                      **opts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Point fits of `method` at every cut: (cut, compute, observed error, predicted error) per
    target, errors as fractions (no bootstrap: fast enough to compare forms)."""
    m = get_method(method)
    opts = m.resolve(opts)
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    out: list[tuple] = []
    for cut, train, ahead in cuts(c, e, m.min_points + 1, min_train_frac):
        x, y = np.log10(c[train]), to_space(e[train], m.space)
        try:
            pt = m.point(x, y, **opts)
        except ClipscaleError:
            continue
        pred = law_log10({k: pt[k] for k in PARAM_NAMES}, c[ahead])
        out.extend(zip([cut] * int(ahead.sum()), c[ahead], e[ahead], from_space(pred, m.space)))
    cols = np.array(out, dtype=float).reshape(-1, 4).T
    return cols[0], cols[1], cols[2], cols[3]



def frontier_holdout(compute, error, top: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(train, judged) masks for a frontier backtest of a finished study: the `top` largest-compute
    frontier runs (see `frontier_targets`, over all runs) are judged, and every run at or above the
    cheapest of them is held out, so the fit sees only cheaper runs and the judged runs are the ones
    a frontier law claims to predict."""
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    if int(top) != top or top < 1:
        raise DataError(f"top must be a whole number >= 1 of frontier runs to judge, got {top!r}")
    front = frontier_targets(c, e)
    order = np.sort(np.unique(c[front]))
    if order.size <= top:
        raise DataError(f"the runs have {order.size} frontier compute value(s); judging the top {top} "
                        "leaves none to fit: judge fewer, or add runs")
    cut = order[-int(top)]
    return c < cut, front & (c >= cut)
