"""Saturating laws: E = coef * C^alpha + floor, and the shifted form coef * (C + c0)^alpha + floor.

Fitted by bounded, multi-start nonlinear least squares in log10(error) (scipy.optimize.least_squares).
When the data cannot identify the floor (too few points, the floor at a bound, standard error as large as
the estimate, or no gain over the plain law by AIC) the fit says why and falls back to the plain
power law fitted by least squares in log space.
"""
from __future__ import annotations

import itertools
import math
import os

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import f as f_dist

from clipscale.laws import _linear

LN10 = math.log(10.0)
_ALPHA_STARTS = (-0.05, -0.2, -0.6)
_FLOOR_STARTS = (0.0, 0.4, 0.8)  # fractions of the smallest observed error


def _log_compute(x, lc0):
    if lc0 is None:
        return x
    return np.logaddexp(x * LN10, lc0 * LN10) / LN10  # log10(C + c0)


def _model(theta, x, shifted):
    lb, alpha, floor = theta[:3]
    lc = _log_compute(x, theta[3] if shifted else None)
    return np.log10(10.0 ** (lb + alpha * lc) + floor)


def _solve(x, y, start, shifted):
    emin = 10.0 ** y.min()
    lo = [-30.0, -5.0, 0.0] + ([x.min() - 6.0] if shifted else [])
    hi = [30.0, 0.0, emin] + ([x.max() + 2.0] if shifted else [])
    start = np.clip(start, np.add(lo, 1e-9), np.subtract(hi, 1e-9))
    return least_squares(lambda t: _model(t, x, shifted) - y, start, bounds=(lo, hi), method="trf",
                         x_scale="jac", max_nfev=2000)


def _starts(x, y, shifted):
    emin = 10.0 ** y.min()
    c0s = (x.min() - 3.0, x.min(), float(np.median(x))) if shifted else (None,)
    for alpha, frac, lc0 in itertools.product(_ALPHA_STARTS, _FLOOR_STARTS, c0s):
        floor = frac * emin
        lc = _log_compute(x, lc0)
        lb = float(np.mean(np.log10(np.maximum(10.0 ** y - floor, 1e-12)) - alpha * lc))
        yield np.array([lb, alpha, floor] + ([lc0] if shifted else []))


def _plain_fallback(x, y, reason):
    s, i = _linear.weighted_line(x, y, np.ones_like(x))
    return _linear.line_result(s, i, x, y, [f"floor not identifiable: {reason}; fell back to the plain law "
                                     "E = coef * C^alpha (least squares in log space)"])


def point(x, y, form="plain"):
    """Best of a grid of starts; identifiability checks; plain-law fallback with the reason."""
    shifted = form == "shifted"
    k = 4 if shifted else 3
    n = len(x)
    if n < k + 2:
        return _plain_fallback(x, y, f"{n} points are too few for a {k}-parameter law (need >= {k + 2})")
    best = min((_solve(x, y, s, shifted) for s in _starts(x, y, shifted)), key=lambda r: r.cost)
    lb, alpha, floor = best.x[:3]
    emin = 10.0 ** y.min()
    sse = 2 * best.cost
    s_plain, i_plain = _linear.weighted_line(x, y, np.ones_like(x))
    sse_plain = float(np.sum((y - (i_plain + s_plain * x)) ** 2))
    reason = _unidentified(best, floor, emin, sse, sse_plain, n, k)
    if reason:
        return _plain_fallback(x, y, reason)
    c0 = float(10.0 ** best.x[3]) if shifted else None
    notes = [f"saturating form: {form}"]
    if shifted and best.x[3] <= x.min() - 6.0 + 1e-3:
        notes.append("c0 sits at its lower bound (1e-6 x the smallest compute): no measurable shift; "
                     "form='plain' describes these points as well")
    return {"alpha": float(alpha), "coef": float(10.0 ** lb), "floor": float(floor), "c0": c0,
            "x_fit": x, "y_fit": y, "theta": best.x, "notes": notes}


def _unidentified(res, floor, emin, sse, sse_plain, n, k) -> str:
    if floor <= 1e-3 * emin:
        return "the fitted floor is ~0 (no sign of saturation in these points)"
    if floor >= 0.99 * emin:
        return "the fitted floor sits at the smallest observed error (a bound)"
    dof = max(n - k, 1)
    jtj = res.jac.T @ res.jac
    try:
        cov = np.linalg.inv(jtj) * (sse / dof)
        se = math.sqrt(max(cov[2, 2], 0.0))
    except np.linalg.LinAlgError:
        se = math.inf
    if not math.isfinite(se) or 2 * se >= floor:
        return f"its standard error ({se:.3g}) is more than half the estimate ({floor:.3g})"
    # Extra-sum-of-squares F test of the saturating law against the plain one (nested, 2 vs k params).
    extra = k - 2
    f_stat = ((sse_plain - sse) / extra) / (sse / dof) if sse > 0 else math.inf
    p_value = float(f_dist.sf(f_stat, extra, dof)) if math.isfinite(f_stat) else 0.0
    if p_value >= 0.05:
        return f"the saturating term does not improve the fit over the plain law (F test p = {p_value:.2f})"
    return ""


def _boot_chunk(xb, yb, theta, shifted):
    out = np.full((len(xb), len(theta)), np.nan)
    for j, (x, y) in enumerate(zip(xb, yb)):
        if np.ptp(x) == 0:
            continue
        try:
            out[j] = _solve(x, y, theta, shifted).x
        except ValueError:
            continue
    return out


def boot(xb, yb, point, form="plain"):
    """Refit every resample from the point estimate; processes in parallel when it pays."""
    if point.get("floor") is None:
        s, i = _linear.weighted_line(xb, yb, np.ones_like(xb))
        return {"alpha": s, "coef": 10.0 ** i}
    shifted = form == "shifted"
    th = _parallel(_boot_chunk, xb, yb, point["theta"], shifted)
    out = {"alpha": th[:, 1], "coef": 10.0 ** th[:, 0], "floor": th[:, 2]}
    if shifted:
        out["c0"] = 10.0 ** th[:, 3]
    return out


# -- the floored law on the compute frontier (method 'logodds-sat') -------------------------------
# Fitted to the Pareto frontier (methods.py picks it, and falls back to the line on a short one) in the method's space (log10 odds for 'logodds-sat'): y =
# log10(coef * C^alpha + floor). Unlike `point`, the floor is always kept, between 0 and the
# smallest observed value: a floor that the cheaper runs cannot pin down is a wide bootstrap
# interval, not a reason to drop it (dropping it made the predictions of a bending curve
# over-confident; measured in docs/study.md).
MIN_FLOOR_POINTS = 4  # frontier points for a 3-parameter law with one degree of freedom left


def frontier_floor_point(xf, yf):
    """The floored law fitted to frontier points (xf, yf), at least MIN_FLOOR_POINTS of them."""
    best = min((_solve(xf, yf, s, False) for s in _starts(xf, yf, False)), key=lambda r: r.cost)
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
            out[j] = _solve(x[keep], y[keep], theta, False).x
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
