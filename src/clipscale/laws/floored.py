"""The floored law on the compute frontier: log10(coef * C^alpha + floor), the form of method
'logodds-sat' (in log10-odds space: E/(1-E) = coef * C^alpha + k).

Fitted by bounded, multi-start nonlinear least squares (scipy.optimize.least_squares) to the Pareto
frontier (laws.methods picks the frontier, and falls back to the line on a short one). The floor is
always kept, between 0 and the smallest observed value: a floor that the cheaper runs cannot pin
down is a wide bootstrap interval, not a reason to drop it (dropping it made the predictions of a
bending curve over-confident; measured in docs/study.md).

(The law fitted to every run rather than the frontier, method 'saturating', was retired in issue 23:
docs/laws.md.)
"""
from __future__ import annotations

import itertools
import math
import os

import numpy as np
from scipy.optimize import least_squares

from clipscale.laws import _linear

LN10 = math.log(10.0)
_ALPHA_STARTS = (-0.05, -0.2, -0.6)
_FLOOR_STARTS = (0.0, 0.4, 0.8)  # fractions of the smallest observed value
#: frontier points for a 3-parameter law with one degree of freedom left
MIN_FLOOR_POINTS = 4


def _model(theta, x):
    lb, alpha, floor = theta[:3]
    return np.log10(10.0 ** (lb + alpha * x) + floor)


def _jacobian(theta, x):
    """d model / d (lb, alpha, floor): exact, so each solve needs no finite-difference evaluations
    (the same optimum, about 30% faster)."""
    lb, alpha, floor = theta[:3]
    u = 10.0 ** (lb + alpha * x)
    s = u + floor
    return np.column_stack([u / s, x * u / s, 1.0 / (s * LN10)])


def _solve(x, y, start):
    vmin = 10.0 ** y.min()
    lo, hi = [-30.0, -5.0, 0.0], [30.0, 0.0, vmin]
    start = np.clip(start, np.add(lo, 1e-9), np.subtract(hi, 1e-9))
    return least_squares(lambda t: _model(t, x) - y, start, jac=lambda t: _jacobian(t, x), bounds=(lo, hi),
                         method="trf", x_scale="jac", max_nfev=2000)


def _starts(x, y):
    vmin = 10.0 ** y.min()
    for alpha, frac in itertools.product(_ALPHA_STARTS, _FLOOR_STARTS):
        floor = frac * vmin
        lb = float(np.mean(np.log10(np.maximum(10.0 ** y - floor, 1e-12)) - alpha * x))
        yield np.array([lb, alpha, floor])


def frontier_floor_point(xf, yf):
    """The floored law fitted to frontier points (xf = log10 compute, yf = log10 of the value), at
    least MIN_FLOOR_POINTS of them: the best of a grid of starts."""
    best = min((_solve(xf, yf, s) for s in _starts(xf, yf)), key=lambda r: r.cost)
    lb, alpha, floor = best.x
    notes = []
    if floor >= 0.99 * 10.0 ** yf.min():
        notes.append("the fitted floor sits at the smallest observed value (a bound): the frontier has flattened")
    return {"alpha": float(alpha), "coef": float(10.0 ** lb), "floor": float(floor), "c0": None,
            "x_fit": xf, "y_fit": yf, "theta": best.x, "notes": notes}


def _floor_chunk(xb, yb, theta):
    out = np.full((len(xb), 3), np.nan)
    for j, (x, y) in enumerate(zip(xb, yb)):
        keep = _linear.frontier_mask(x, y)
        if len(np.unique(x[keep])) < 3:
            continue
        try:
            out[j] = _solve(x[keep], y[keep], theta).x
        except ValueError:
            continue
    return out


def frontier_floor_boot(xb, yb, point):
    """Each resample's frontier refitted from the point estimate (NaN where it has < 3 distinct x)."""
    th = _parallel(_floor_chunk, xb, yb, point["theta"])
    return {"alpha": th[:, 1], "coef": 10.0 ** th[:, 0], "floor": th[:, 2]}


def _parallel(chunk, xb, yb, *args):
    """chunk(xb, yb, *args) over processes when there are enough resamples for it to pay."""
    jobs = min(os.cpu_count() or 1, 8)
    if len(xb) < 200 or jobs == 1:  # ~1-2 ms per nonlinear fit: processes pay off from a few hundred
        return chunk(xb, yb, *args)
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        parts = pool.map(chunk, np.array_split(xb, jobs), np.array_split(yb, jobs), *[[a] * jobs for a in args])
        return np.concatenate(list(parts))
