"""Batched straight-line fits in log-log space, the building block of every power-law method.

Everything here works on arrays of shape (..., n): one row per bootstrap resample (or a single
row for the point estimate), so 1000 resamples cost one vectorised pass instead of 1000 fits.
x is log10(compute), y is log10(error); w are 0/1 (or robust) weights per point.
"""
from __future__ import annotations

import numpy as np

from clipscale.errors import FitError


def weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and intercept of y on x with weights w, along the last axis.

    Rows with fewer than two distinct weighted x values get NaN (a line is not defined there).
    """
    sw = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (w * x).sum(-1) / sw
        my = (w * y).sum(-1) / sw
        dx = x - mx[..., None]
        sxx = (w * dx * dx).sum(-1)
        sxy = (w * dx * (y - my[..., None])).sum(-1)
        slope = sxy / sxx
    # Relative tolerance: all weighted x equal (up to rounding) means no spread to fit a slope on.
    scale = np.maximum(np.abs(mx), 1.0)
    flat = ~(sxx > (1e-12 * scale) ** 2)
    slope = np.where(flat, np.nan, slope)
    return slope, my - slope * mx


def paper_bins(x: np.ndarray, y: np.ndarray, nbins: int = 5, eps: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The paper's binning for one sample (figures.ipynb, `binned_line_fit`).

    Split log10-compute into `nbins` equal-width bins over [min, max + eps]; each non-empty bin
    gives one point: (bin centre, minimum log10-error in the bin). Uses numpy's own histogram edges
    and digitize, as the notebook does, so bin membership is identical to the paper's.
    """
    edges = np.histogram_bin_edges(x, bins=nbins, range=(x.min(), x.max() + eps))
    idx = np.digitize(x, edges)
    centres, minima = [], []
    for i in range(nbins):
        members = idx == i + 1
        if members.any():
            centres.append((edges[i] + edges[i + 1]) / 2)
            minima.append(y[members].min())
    return np.asarray(centres), np.asarray(minima)


def paper_bins_batched(x: np.ndarray, y: np.ndarray, nbins: int = 5, eps: float = 0.1):
    """`paper_bins` for many resamples at once: x, y of shape (B, n) -> centres, minima, weights (B, nbins)."""
    lo = x.min(-1, keepdims=True)
    hi = x.max(-1, keepdims=True) + eps
    edges = lo + (hi - lo) * np.linspace(0.0, 1.0, nbins + 1)  # (B, nbins+1), as np.histogram
    idx = (x[..., :, None] >= edges[..., None, :]).sum(-1)  # == np.digitize(x, edges)
    member = idx[..., :, None] == np.arange(1, nbins + 1)  # (B, n, nbins)
    minima = np.where(member, y[..., :, None], np.inf).min(-2)
    weights = np.isfinite(minima).astype(float)
    minima = np.where(weights > 0, minima, 0.0)
    centres = (edges[..., :-1] + edges[..., 1:]) / 2
    return centres, minima, weights


def frontier_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pareto frontier along the last axis: points that no cheaper (or equally cheap) point beats.

    A point is kept when its error is strictly below the error of every point with smaller
    compute (ties in compute keep only the lowest error).
    """
    order = np.lexsort((y, x), axis=-1)
    ys = np.take_along_axis(y, order, -1)
    best_before = np.minimum.accumulate(ys, axis=-1)
    best_before = np.concatenate([np.full(ys.shape[:-1] + (1,), np.inf), best_before[..., :-1]], -1)
    keep_sorted = ys < best_before
    mask = np.zeros_like(keep_sorted)
    np.put_along_axis(mask, order, keep_sorted, -1)
    return mask


def huber_line(x: np.ndarray, y: np.ndarray, w: np.ndarray, delta: float,
               iters: int = 100, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Huber-loss line fit (threshold `delta` in log10 units) by iteratively reweighted least squares.

    IRLS converges to the minimiser of the convex Huber objective; tests check it against
    scipy.optimize.least_squares(loss="huber"). Batched like `weighted_line`.
    """
    slope, icpt = weighted_line(x, y, w)
    for _ in range(iters):
        r = np.abs(y - (icpt[..., None] + slope[..., None] * x))
        hw = np.where(r <= delta, 1.0, delta / np.maximum(r, 1e-300))
        new_slope, new_icpt = weighted_line(x, y, w * hw)
        done = np.nanmax(np.abs(np.concatenate([np.ravel(new_slope - slope), np.ravel(new_icpt - icpt)])),
                         initial=0.0) < tol
        slope, icpt = new_slope, new_icpt
        if done:
            break
    return slope, icpt


def line_result(slope, icpt, x_fit, y_fit, notes=()) -> dict:
    if not np.isfinite(slope):
        raise FitError("the points to fit have no spread in compute (all at one compute value); "
                       "a power law needs at least two distinct compute values")
    return {"alpha": float(slope), "coef": float(10.0 ** icpt), "floor": None, "c0": None,
            "x_fit": np.asarray(x_fit, float), "y_fit": np.asarray(y_fit, float), "notes": list(notes)}
