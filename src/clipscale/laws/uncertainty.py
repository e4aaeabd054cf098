"""Predictive intervals from a law's error sources, composed in the law's own space.

A held-out run's observed error differs from a law's prediction for five reasons, each a term here:

1. **parameter uncertainty**: the spread of the law's bootstrap predictions (B resamples, shape (B, m));
2. **scatter around the law**: runs at one compute differ (architecture, schedule) by `scatter_sd`;
3. **the finite test set**: with n_test test images the observed error is a binomial proportion,
   sd sqrt(E (1 - E) / n_test) in error, carried into the law's space by the transform's slope;
4. **seed-to-seed variation**: `seed_sd`, the sd between replicate runs that differ only in seed;
5. **extrapolation**: `growth` x d, d the decades of compute beyond the largest fitted compute.

Terms 2-5 are independent zero-mean Gaussians added in quadrature to every bootstrap prediction; the
predictive distribution is the mixture over the resamples, and its quantiles are found by bisection on
the mixture's CDF (deterministic: no random draws). Spaces: "log" (y = log10 E) and "logodds"
(y = log10(E / (1 - E))); every sd is in units of y (decades of error, or of error odds). Nothing
here knows a law's form: any law that gives bootstrap predictions in one of these spaces can use it
(the frontier laws through clipscale.laws.calibrate; per-run laws the same way).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from clipscale.errors import DataError
from clipscale.laws.result import from_space, to_space

SPACES = ("log", "logodds")
LN10 = math.log(10.0)


__all__ = ["SPACES", "to_space", "from_space", "space_slope", "check_n_test", "binomial_sd",
           "extrapolation_decades", "noise_sd", "mixture_quantiles", "predictive_quantiles",
           "predictive_interval", "intrinsic_scatter", "seed_sd_from_replicates"]


def check_space(space: str) -> None:
    """A DataError unless `space` is one of SPACES."""
    if space not in SPACES:
        raise DataError(f"unknown law space {space!r}; valid choices: {', '.join(SPACES)}")


def space_slope(error, space: str) -> np.ndarray:
    """dy/dE at error fractions E: 1 / (E ln 10) for "log", 1 / (E (1 - E) ln 10) for "logodds"."""
    check_space(space)
    e = np.asarray(error, dtype=float)
    return 1.0 / (e * (1.0 - e) * LN10) if space == "logodds" else 1.0 / (e * LN10)


def check_n_test(n_test) -> np.ndarray | None:
    """n_test as a float array (None stays None); each value a whole number of images >= 1."""
    if n_test is None:
        return None
    try:
        n = np.asarray(n_test, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"n_test must be a number of test images (>= 1), got {n_test!r}") from None
    if not np.all(np.isfinite(n)) or np.any(n < 1) or np.any(n != np.round(n)):
        raise DataError(f"n_test must be whole numbers of test images >= 1, got {n_test!r}; "
                        "pass the size of the evaluation set (e.g. 4800), or None when unknown")
    return n


def binomial_sd(error, n_test, space: str) -> np.ndarray:
    """sd in y of an error fraction measured on n_test test images (0 where n_test is None): the
    binomial sd sqrt(E (1 - E) / n_test), times the slope of the space (delta method)."""
    e = np.clip(np.asarray(error, dtype=float), 1e-9, 1 - 1e-9)
    n = check_n_test(n_test)
    if n is None:
        return np.zeros_like(e)
    return np.sqrt(e * (1.0 - e) / n) * space_slope(e, space)


def extrapolation_decades(compute, fitted_max: float) -> np.ndarray:
    """Decades of compute beyond the largest fitted compute (0 inside the fitted range)."""
    c = np.asarray(compute, dtype=float)
    if not np.all(np.isfinite(c)) or np.any(c <= 0) or not (fitted_max > 0):
        raise DataError("compute and the largest fitted compute must be finite and > 0 (decades are log10)")
    return np.maximum(0.0, np.log10(c) - math.log10(fitted_max))


def _nonnegative(**values) -> None:
    for name, v in values.items():
        a = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise DataError(f"{name} must be finite and >= 0 (an sd or a rate), got {v!r}")


def noise_sd(centre, space: str, *, scatter_sd: float, n_test=None, seed_sd: float = 0.0,
             distance=0.0, growth: float = 0.0) -> np.ndarray:
    """sd in y of a new run around a law value `centre` (y units): scatter, test-set binomial noise
    at the error `centre` stands for, seed-to-seed sd and growth x distance (decades), in quadrature."""
    _nonnegative(scatter_sd=scatter_sd, seed_sd=seed_sd, growth=growth, distance=distance)
    centre = np.asarray(centre, dtype=float)
    check_space(space)
    binom = binomial_sd(from_space(centre, space), n_test, space)
    var = scatter_sd ** 2 + seed_sd ** 2 + (growth * np.asarray(distance, float)) ** 2 + binom ** 2
    return np.sqrt(np.broadcast_to(var, np.broadcast_shapes(np.shape(var), centre.shape)))


def mixture_quantiles(centres, sds, probs, dof: float | None = None, tol: float = 1e-7) -> np.ndarray:
    """Quantiles of the equal-weight mixture of N(centres[b], sds[b]) (Student t with `dof` degrees
    of freedom when given) along axis 0: centres, sds of shape (B, m) -> shape (len(probs), m)."""
    mu = np.atleast_2d(np.asarray(centres, dtype=float))
    sd = np.broadcast_to(np.asarray(sds, dtype=float), mu.shape)
    p = np.atleast_1d(np.asarray(probs, dtype=float))
    if mu.shape[0] == 0:
        raise DataError("no bootstrap predictions to form an interval from; refit with n_boot > 0")
    if np.any((p <= 0) | (p >= 1)):
        raise DataError(f"quantile probabilities must lie in (0, 1), got {probs!r}")
    cdf = (lambda z: stats.t.cdf(z, dof)) if dof is not None else stats.norm.cdf
    safe = np.where(sd > 0, sd, 1.0)
    spread = float(np.max(sd)) * 40 + 1e-9
    lo = np.broadcast_to(mu.min(0) - spread, (p.size, mu.shape[1])).copy()
    hi = np.broadcast_to(mu.max(0) + spread, (p.size, mu.shape[1])).copy()
    for _ in range(200):
        mid = (lo + hi) / 2
        z = (mid[:, None, :] - mu[None]) / safe[None]
        f = np.where(sd[None] > 0, cdf(z), (mid[:, None, :] >= mu[None]).astype(float)).mean(1)
        below = f < p[:, None]
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.max(hi - lo) < tol:
            break
    return (lo + hi) / 2


def predictive_quantiles(boot_pred, probs, space: str, *, scatter_sd: float, n_test=None,
                         seed_sd: float = 0.0, distance=0.0, growth: float = 0.0, drift: float = 0.0,
                         drift_se: float = 0.0, dof: float | None = None) -> np.ndarray:
    """Quantiles in y (shape (len(probs), m)) of a new run's observed value, from bootstrap
    predictions `boot_pred` (B, m) in y and the other error sources (see `noise_sd`). `drift` (y
    units per decade) shifts every prediction by drift x distance, a bias of the law that grows with
    extrapolation; `drift_se`, its standard error, adds (drift_se x distance)^2 to the variance."""
    _nonnegative(drift_se=drift_se)
    dist = np.asarray(distance, dtype=float)
    centres = np.atleast_2d(np.asarray(boot_pred, dtype=float))
    centres = centres[np.all(np.isfinite(centres), axis=1)] + drift * dist
    sds = noise_sd(centres, space, scatter_sd=scatter_sd, n_test=n_test, seed_sd=seed_sd,
                   distance=distance, growth=growth)
    sds = np.sqrt(sds ** 2 + (drift_se * dist) ** 2)
    return mixture_quantiles(centres, sds, probs, dof)


def predictive_interval(boot_pred, level: float, space: str, **sources) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) error fractions of the central `level` predictive interval (see `predictive_quantiles`
    for `sources`)."""
    if not 0 < level < 1:
        raise DataError(f"level must be a fraction in (0, 1), got {level}; e.g. 0.9")
    tail = (1 - level) / 2
    q = predictive_quantiles(boot_pred, [tail, 1 - tail], space, **sources)
    return from_space(q[0], space), from_space(q[1], space)


def intrinsic_scatter(resid_sd: float, fitted_error, space: str, n_test=None, seed_sd: float = 0.0) -> float:
    """The scatter around the law that is neither test-set noise nor seed noise: the residual sd of
    the fitted points (y units) with the mean binomial variance at their errors (n_test images) and
    seed_sd^2 removed, floored at 0. Without n_test or seed_sd those parts stay inside it."""
    _nonnegative(resid_sd=resid_sd, seed_sd=seed_sd)
    binom = binomial_sd(fitted_error, n_test, space)
    rest = resid_sd ** 2 - float(np.mean(binom ** 2)) - seed_sd ** 2
    return math.sqrt(max(rest, 0.0))


def seed_sd_from_replicates(y, config) -> tuple[float, int] | None:
    """Pooled within-configuration sd of y (law space) over configurations run with several seeds,
    and its degrees of freedom; None when no configuration has two runs. `config` labels each run's
    configuration (everything but the seed)."""
    y = np.asarray(y, dtype=float)
    labels = np.asarray(config)
    if y.shape != labels.shape:
        raise DataError(f"{y.size} values but {labels.size} configuration labels; pass one label per run")
    ss, dof = 0.0, 0
    for lab in np.unique(labels):
        v = y[labels == lab]
        if v.size > 1:
            ss += float(np.sum((v - v.mean()) ** 2))
            dof += v.size - 1
    return (math.sqrt(ss / dof), dof) if dof else None
