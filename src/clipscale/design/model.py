"""What the design believes before a run is trained, and what a run would teach.

- `Surrogate`: a per-run model of log10 error, least squares on log model size and log effective
  data (repetition discounted: candidates.effective_data), each term kept only when the results
  so far vary along it; it imputes the outcome of every untrained candidate (a fantasy) and its
  scatter gives the chance that the candidate lands on the compute frontier.
- `uncertainty`: the V-optimal criterion of the frontier law's log-linear core (log10 error, or
  log-odds, linear in log10 compute): the mean over the target computes of the variance of the
  predicted value, in units of the law's scatter: 1/m + (x_t - mean x)^2 / Sxx over the m points
  the law is fitted to (for frontier methods, the Pareto frontier of the runs).
- `plan`: the runs, within the remaining budget, that lower `uncertainty` most: the better of the
  cost-benefit greedy and the best single run completed by the same greedy (budgeted submodular
  maximisation: Khuller, Moss & Naor 1999; Krause & Guestrin 2005). Each step's gain of a run is
  its chance of landing on the frontier times the drop in uncertainty when its fantasy is added.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.stats import norm

from clipscale.design.candidates import frontier_mask

#: An uncertainty that stands for "not identifiable" (fewer than two distinct computes to fit)
NOT_IDENTIFIED = 1e12


@dataclasses.dataclass(frozen=True)
class Surrogate:
    """log10 error = X @ coef over the candidates (X: 1, log10 size, log10 effective data, the
    terms kept); `scatter` is the residual sd in log10 units, at least the design's floor."""

    log_error: np.ndarray  # (n,) imputed log10 error of every candidate (observed ones: their own)
    scatter: float
    terms: tuple[str, ...]


def fit_surrogate(log_size, log_data, observed: np.ndarray, log_error: np.ndarray,
                  scatter_floor: float) -> Surrogate:
    """Fit on the observed runs (mask `observed`, `log_error` given there) and impute the others."""
    cols = {"log_size": np.asarray(log_size, float), "log_data": np.asarray(log_data, float)}
    n_obs = int(observed.sum())
    kept = [k for k, v in cols.items() if np.ptp(v[observed]) > 1e-9][: max(n_obs - 1, 0)]
    x = np.column_stack([np.ones(len(observed))] + [cols[k] for k in kept])
    y = log_error[observed]
    coef, *_ = np.linalg.lstsq(x[observed], y, rcond=None)
    resid = y - x[observed] @ coef
    dof = n_obs - x.shape[1]
    sd = float(np.sqrt(resid @ resid / dof)) if dof > 0 else 0.0
    out = np.where(observed, log_error, x @ coef)
    return Surrogate(log_error=out, scatter=max(sd, scatter_floor), terms=tuple(kept))


def frontier_chance(log_compute: np.ndarray, sur: Surrogate, which: np.ndarray) -> np.ndarray:
    """For candidates `which` (indices): the chance that the run's error falls below every cheaper
    run's (trained: its result; untrained: its fantasy), both uncertain by the surrogate's scatter."""
    out = np.ones(len(which))
    y = sur.log_error
    for k, i in enumerate(which):
        cheaper = log_compute < log_compute[i]
        if cheaper.any():
            out[k] = norm.cdf((y[cheaper].min() - y[i]) / (sur.scatter * np.sqrt(2.0)))
    return out


def uncertainty(x: np.ndarray, y: np.ndarray, x_target: np.ndarray, frontier: bool) -> float:
    """V-criterion of a straight-line law fitted to points (x, y) = (log10 compute, log10 error),
    on their Pareto frontier when `frontier`: mean over x_target of 1/m + (x_t - mean)^2 / Sxx."""
    if frontier:
        keep = frontier_mask(x, y)
        x = x[keep]
    if len(x) < 2:
        return NOT_IDENTIFIED
    sxx = float(np.sum((x - x.mean()) ** 2))
    if sxx <= 1e-12:
        return NOT_IDENTIFIED
    return float(np.mean(1.0 / len(x) + (x_target - x.mean()) ** 2 / sxx))


@dataclasses.dataclass
class Plan:
    """Candidate indices in the order the greedy added them; the uncertainty the plan reaches."""

    runs: list[int]
    uncertainty: float


def plan(log_compute, sur: Surrogate, cost, trained: list[int], options: list[int], chance: np.ndarray,
         budget_left: float, x_target: np.ndarray, frontier: bool) -> tuple[Plan, dict[int, float]]:
    """The budgeted plan over `options` (indices, with `chance` each) and each option's first-step
    gain per unit cost (its score)."""
    p = dict(zip(options, chance))

    def u(runs):
        idx = trained + runs
        return uncertainty(log_compute[idx], sur.log_error[idx], x_target, frontier)

    def greedy(start: list[int]) -> Plan:
        runs, left = list(start), budget_left - float(sum(cost[j] for j in start))
        while True:
            base = u(runs)
            best, best_score = None, 0.0
            for j in options:
                if j in runs or cost[j] > left:
                    continue
                score = p[j] * (base - u(runs + [j])) / cost[j]
                if score > best_score:
                    best, best_score = j, score
            if best is None:
                return Plan(runs, base)
            runs.append(best)
            left -= cost[best]

    base = u([])
    gains = {j: p[j] * (base - u([j])) for j in options}
    scores = {j: gains[j] / cost[j] for j in options}
    plans = [greedy([])]
    top = max(options, key=lambda j: (gains[j], -cost[j]), default=None)
    if top is not None and gains[top] > 0:
        plans.append(greedy([top]))
    best = min(plans, key=lambda pl: pl.uncertainty)  # ties: the plain greedy
    return best, scores
