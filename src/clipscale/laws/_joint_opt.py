"""The joint law's objective and optimiser (Hoffmann et al. 2022, approach 3).

log E = LSE(a - alpha log N, b - beta log D, e), natural logs; theta = (a, b, e, alpha, beta).
The objective is sum_i Huber_delta(log E_i - LSE_i), minimised with scipy's L-BFGS-B with an
analytic gradient from every start of a grid, keeping the best (the lowest objective).
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize

THETA = ("a", "b", "e", "alpha", "beta")

#: Hoffmann et al.'s grid: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}.
GRID = {"a": np.arange(0, 30, 5.0), "b": np.arange(0, 30, 5.0), "e": np.arange(-1, 1.5, 0.5),
        "alpha": np.arange(0, 2.5, 0.5), "beta": np.arange(0, 2.5, 0.5)}


def start_grid(grid: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """All grid starts as an array of shape (S, 5) in THETA order (4,500 for the default grid)."""
    g = GRID if grid is None else grid
    return np.array(list(itertools.product(*(g[k] for k in THETA))), dtype=float)


def _terms(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """The three LSE terms, shape (3, n)."""
    a, b, e, alpha, beta = theta
    return np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])


def log_law(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """Natural log of the law's E at (log N, log D)."""
    t = _terms(theta, log_n, log_d)
    m = t.max(axis=0)
    return m + np.log(np.exp(t - m).sum(axis=0))


def objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_e: np.ndarray,
              delta: float, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """(objective, gradient) of sum_i w_i Huber_delta(log E_i - LSE_i) at `theta`."""
    t = _terms(theta, log_n, log_d)
    m = t.max(axis=0)
    ex = np.exp(t - m)
    s = ex.sum(axis=0)
    r = log_e - (m + np.log(s))
    ar = np.abs(r)
    quad = ar <= delta
    loss = np.where(quad, 0.5 * r * r, delta * (ar - 0.5 * delta))
    psi = np.clip(r, -delta, delta)                    # d Huber / d r
    if weights is not None:
        loss, psi = loss * weights, psi * weights
    w = ex / s                                         # softmax weights: d LSE / d term
    g1, g2, g3 = -psi * w[0], -psi * w[1], -psi * w[2]
    grad = np.array([g1.sum(), g2.sum(), g3.sum(), -(g1 * log_n).sum(), -(g2 * log_d).sum()])
    return float(loss.sum()), grad


def minimise(start: np.ndarray, log_n, log_d, log_e, delta: float,
             weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """One L-BFGS-B run from `start` (scipy's default tolerances, as in Epoch's notebook)."""
    res = minimize(objective, start, args=(log_n, log_d, log_e, delta, weights), jac=True,
                   method="L-BFGS-B")
    return np.asarray(res.x, dtype=float), float(res.fun)


def best_of_starts(starts: np.ndarray, log_n, log_d, log_e, delta: float) -> tuple[np.ndarray, float, int]:
    """Minimise from every start; returns (best theta, best objective, number of starts).

    One L-BFGS-B run per start, one after another (about 0.2 s a start on a 2-core CPU: the full
    4,500-start grid is not yet within the 10 s target; batching the starts is the next step).
    """
    best_x, best_f = None, np.inf
    for s in starts:
        x, f = minimise(s, log_n, log_d, log_e, delta)
        if np.isfinite(f) and f < best_f:
            best_x, best_f = x, f
    return best_x, best_f, len(starts)
