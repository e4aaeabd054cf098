"""Compute-optimal allocation from a joint law: for a budget C, the N and D that minimise E(N, D)
subject to C = cost_per_sample(N) x D.

For CLIP, cost_per_sample(N) is the per-sample GMACs of the models actually trained (interpolated
in log-log between the sizes present, `LogLogCost`); for Chinchilla, C = 6 N D (FLOPs, N in
parameters, D in tokens: `LogLogCost.linear(6)`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from clipscale.errors import DataError
from clipscale.laws import _joint_opt as J


@dataclasses.dataclass(frozen=True)
class LogLogCost:
    """Per-sample cost as a function of model size: piecewise linear in (log10 N, log10 cost)
    through the (size, cost) pairs, extended beyond the ends with the nearest segment's slope."""

    sizes: tuple[float, ...]
    costs: tuple[float, ...]

    @classmethod
    def from_pairs(cls, sizes, costs) -> "LogLogCost":
        s, c = np.asarray(sizes, float), np.asarray(costs, float)
        if s.size == 0 or s.size != c.size or np.any(~np.isfinite(s) | (s <= 0)) or np.any(~np.isfinite(c) | (c <= 0)):
            raise DataError("size and per-sample cost pairs must be positive numbers, one cost per size")
        order = np.argsort(s)
        s, c = s[order], c[order]
        keep = np.r_[True, np.diff(s) > 0]
        return cls(tuple(s[keep]), tuple(c[keep]))

    @classmethod
    def linear(cls, factor: float) -> "LogLogCost":
        """cost = factor x N (e.g. 6 for Chinchilla's 6 N FLOPs per token)."""
        return cls((1.0, 10.0), (factor, 10.0 * factor))

    def __call__(self, size) -> np.ndarray:
        x, y = np.log10(self.sizes), np.log10(self.costs)
        q = np.log10(np.asarray(size, float))
        if len(x) == 1:
            return 10.0 ** (y[0] + (q - x[0]))          # one size: cost proportional to N
        out = np.interp(q, x, y)
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        hi_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        out = np.where(q < x[0], y[0] + lo_slope * (q - x[0]), out)
        out = np.where(q > x[-1], y[-1] + hi_slope * (q - x[-1]), out)
        return 10.0 ** out


def optimal(thetas: np.ndarray, budget, cost: LogLogCost, size_range: tuple[float, float],
            points: int = 1201) -> dict[str, np.ndarray]:
    """N_opt, D_opt, E_opt for every theta row (S, 5) and budget (m,): arrays of shape (S, m).

    Searches log N on `points` grid values over `size_range` widened 3 decades each way, then
    refines around the best grid value (parabola through its neighbours)."""
    th = np.atleast_2d(np.asarray(thetas, float))
    c = np.atleast_1d(np.asarray(budget, float))
    if np.any(~np.isfinite(c) | (c <= 0)):
        raise DataError("budget must be a finite number > 0 (total compute, the cost function's unit)")
    lo, hi = np.log(size_range[0]) - 3 * np.log(10), np.log(size_range[1]) + 3 * np.log(10)
    grid = np.linspace(lo, hi, points)
    k = cost(np.exp(grid))                                                     # cost per sample
    ln = np.repeat(grid, len(c))
    ld = np.log((c[None, :] / k[:, None]).ravel())
    loge = J.batch_lse(th, ln, ld)[0].reshape(len(th), points, len(c))        # (S, G, m)
    i = np.clip(loge.argmin(axis=1), 1, points - 2)                            # (S, m)
    take = lambda j: np.take_along_axis(loge, j[:, None, :], axis=1)[:, 0, :]
    y0, y1, y2 = take(i - 1), take(i), take(i + 1)
    den = y0 - 2 * y1 + y2
    shift = np.where(den > 0, 0.5 * (y0 - y2) / np.where(den > 0, den, 1.0), 0.0)
    step = grid[1] - grid[0]
    log_n = grid[i] + np.clip(shift, -1, 1) * step
    n_opt = np.exp(log_n)
    d_opt = c[None, :] / cost(n_opt)
    e_opt = np.exp(np.stack([J.log_law(t, log_n[s], np.log(d_opt[s])) for s, t in enumerate(th)]))
    at_edge = (loge.argmin(axis=1) == 0) | (loge.argmin(axis=1) == points - 1)
    return {"N_opt": n_opt, "D_opt": d_opt, "E_opt": e_opt, "at_edge": at_edge}


def chinchilla_a_opt(size_exp: float, data_exp: float) -> float:
    """a_opt = data_exp / (size_exp + data_exp): N_opt grows as C^a_opt when C is proportional to N x D
    (C = 6 N D for Chinchilla, Hoffmann et al. 2022)."""
    return data_exp / (size_exp + data_exp)
