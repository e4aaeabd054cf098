"""Synthetic pairs of recipes with known laws and a known crossing, for the calibration of
clipscale.laws.compare (tests/laws/test_compare_calibration.py, benchmarks/bench_compare.py).

Each pair: recipe A's and B's runs at computes drawn uniformly in log10 over `decades` decades from
1e10 GMACs; error = the recipe's true power law x 10^(scatter), scatter ~ N(0, sd) in log10. The true
laws cross at a compute drawn uniformly (log10) from the smallest trained compute to 10x the
largest; A's exponent is uniform in [-0.20, -0.06] and B's differs from it by up to +-0.10 (max_diff).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from clipscale.errors import FitError
from clipscale.laws import compare as cmp

X0 = 10.0  # log10 of the smallest trained compute (1e10 total GMACs)
#: the scatter of the paper's runs around a least-squares law: median residual sd (log10 error) over
#: the 41 downstream datasets of the openclip group (measured in docs/compare.md)
PAPER_SD = 0.048
ALPHA_A = (-0.20, -0.06)
MAX_DIFF = 0.10


def one_pair(rng: np.random.Generator, n_a: int, n_b: int, decades: float, sd: float,
             max_diff: float = MAX_DIFF) -> dict:
    """True exponents, log10 crossing and the two recipes' runs (compute, error)."""
    alpha_a = rng.uniform(*ALPHA_A)
    alpha_b = alpha_a + rng.uniform(-max_diff, max_diff)
    x_cross = rng.uniform(X0, X0 + decades + 1.0)
    y_cross = np.log10(rng.uniform(0.1, 0.5))
    out = {"alpha_a": alpha_a, "alpha_b": alpha_b, "x_cross": x_cross}
    for key, n, alpha in (("a", n_a, alpha_a), ("b", n_b, alpha_b)):
        x = np.sort(rng.uniform(X0, X0 + decades, n))
        y = y_cross + alpha * (x - x_cross) + rng.normal(0.0, sd, n)
        out[key] = (10.0 ** x, 10.0 ** y)
    return out


def simulate(reps: int, *, n: tuple[int, int] = (10, 30), n_b: tuple[int, int] | None = None,
             decades: tuple[float, ...] = (2.0, 3.0), sd: float = PAPER_SD, method: str = "ls", scheme: str = "auto",
             n_boot: int = 400, level: float = cmp.LEVEL, spread: bool = True, max_diff: float = MAX_DIFF,
             pool: bool = True, seed: int = 0) -> pd.DataFrame:
    """One row per synthetic pair: whether the crossover's level set holds the true crossing
    (covered_set), whether an interval was reported and holds it, the claimed steeper recipe and
    p_steeper and whether the claim is true, the claimed P(A better) at 10x the largest compute and
    whether A is truly better there. n: the range of runs per recipe (B's is n_b when given).
    spread=False: the resampled-runs draws without their small-sample widening
    (cmp.small_sample_spread), to measure what it does. max_diff: B's exponent within +-max_diff of A's.
    pool: whether a recipe with few runs takes the pooled scatter (compare.pair_draws)."""
    rng = np.random.default_rng(seed)
    range_b = n_b or n
    rows = []
    for i in range(reps):
        n_a, n_b = rng.integers([n[0], range_b[0]], [n[1] + 1, range_b[1] + 1])
        d = float(rng.choice(decades))
        pair = one_pair(rng, int(n_a), int(n_b), d, sd, max_diff)
        try:
            la, lb = cmp.pair_draws(pair["a"], pair["b"], method, n_boot=n_boot, seed=seed * 100_003 + i, scheme=scheme,
                                    pool=pool)
        except FitError:  # e.g. a frontier of 2 points: counted, not compared
            rows.append({"failed": True})
            continue
        if not spread:
            la, lb = dataclasses.replace(la, spread=1.0), dataclasses.replace(lb, spread=1.0)
        truth = 10.0 ** pair["x_cross"]
        cross = cmp.crossover(la, lb, level=level, grid=201)
        steeper, p = cmp.p_steeper(la, lb)
        far = cmp.BEYOND * max(la.compute.max(), lb.compute.max())
        steeper_a = pair["alpha_a"] < pair["alpha_b"]
        a_far = steeper_a if np.log10(far) > pair["x_cross"] else not steeper_a  # A better at `far`
        rows.append({"failed": False, "n_a": int(n_a), "n_b": int(n_b), "decades": d,
                     "covered_set": bool(cmp.band_holds_zero(la, lb, [truth], level)[0]),
                     "reported": cross.to_dict() is not None,
                     "covered": cross.to_dict() is not None and cross.lo <= truth <= cross.hi,
                     "p_steeper": p,
                     "steeper_right": steeper_a == (steeper == "a"),
                     "p_a_better_far": float(cmp.p_a_better(la, lb, [far])[0]), "a_better_far": bool(a_far)})
    out = pd.DataFrame(rows)
    failed = int(out["failed"].sum())
    out = out[~out["failed"]].reset_index(drop=True)
    out.attrs["failed"] = failed
    return out


def reliability(claimed: np.ndarray, right: np.ndarray,
                edges=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0001)) -> pd.DataFrame:
    """Claimed probabilities binned: per bin the count, mean claim and observed frequency, and the
    binomial standard error of that frequency under the claim."""
    claimed, right = np.asarray(claimed, float), np.asarray(right, bool)
    flip = claimed < 0.5  # a claim p < 0.5 for X is a claim 1 - p for not-X
    claimed, right = np.where(flip, 1 - claimed, claimed), np.where(flip, ~right, right)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (claimed >= lo) & (claimed < hi)
        if m.any():
            p = claimed[m].mean()
            rows.append({"bin": f"[{lo:.2f}, {min(hi, 1.0):.2f}]", "n": int(m.sum()), "claimed": p,
                         "observed": right[m].mean(), "se": float(np.sqrt(p * (1 - p) / m.sum()))})
    return pd.DataFrame(rows)
