"""Calibrated intervals for a fitted frontier law: every error source a held-out run has, each
estimated from the runs the fit saw (never from the runs it is asked to predict).

- parameter uncertainty: the fit's own bootstrap (`FitResult.boot`);
- scatter around the law: the residual sd of the fitted points, less the test-set and seed parts;
- the finite test set: binomial noise from n_test images (`uncertainty.binomial_sd`), when known;
- seed-to-seed variation: `seed_sd` from replicate runs (`uncertainty.seed_sd_from_replicates`);
  without replicates it is not separated: each fitted run is one seed, so it is inside the scatter;
- growth with extrapolation distance: a rolling-origin backtest inside the fitted range (fit the runs
  at or below each cut, predict the fitted frontier runs above it) and the maximum-likelihood growth
  rate g (y units per decade) of r ~ N(0, param_sd^2 + scatter^2 + seed^2 + binomial^2 + (g d)^2).

`calibrate(fit_result)` returns a `Calibration` (stored with the fit, to_dict/from_dict);
`calibrated_interval(fit_result, compute, level, calibration)` composes the sources
(clipscale.laws.uncertainty) into the interval, as error fractions.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from clipscale.errors import ClipscaleError, DataError, FitError
from clipscale.laws import uncertainty as U
from clipscale.laws.defaults import CUT_N_BOOT
from clipscale.laws.fit import fit
from clipscale.laws.methods import get as get_method
from clipscale.laws.result import PARAM_NAMES, FitResult, error_bounds, law_log10
from clipscale.laws.rolling import MIN_TRAIN_FRAC, cuts, frontier_targets

SCHEMA = "clipscale.laws.Calibration/1"
#: the largest growth the search considers, in y units per decade (10 decades of error per decade)
MAX_GROWTH = 10.0


_OPTIONAL = ("n_rolling", "n_cuts", "drift", "drift_se")
def boot_predictions(fit_result: FitResult, compute) -> np.ndarray:
    """The law's value in its space (y) at `compute` for every bootstrap resample: shape (B, m)."""
    b = fit_result.boot
    if not b or len(b.get("alpha", ())) == 0:
        raise FitError("this fit has no bootstrap samples; refit with n_boot > 0 to get intervals")
    c = np.atleast_1d(np.asarray(compute, dtype=float))
    rows = [{k: (None if b.get(k) is None else float(b[k][i])) for k in PARAM_NAMES} for i in range(len(b["alpha"]))]
    return np.array([law_log10(p, c) for p in rows])


@dataclasses.dataclass(frozen=True)
class Calibration:
    """The error sources of a fit's predictions, in its space's y units (log10 E or log10 odds)."""

    method: str
    space: str
    resid_sd: float  #: residual sd of the fitted points around the law, as measured
    scatter_sd: float  #: the scatter left after the test-set and seed parts are removed
    seed_sd: float
    seed_source: str
    n_test: float | None  #: test images of a fitted run (median), None when unknown
    test_source: str
    growth: float  #: sd added per decade beyond the largest fitted compute
    growth_source: str
    fitted_max_compute: float
    drift: float = 0.0  #: bias of the law per decade beyond the largest fitted compute (added to it)
    drift_se: float = 0.0  #: the drift's standard error (its uncertainty widens the interval)
    n_rolling: int = 0  #: rolling-origin residuals behind `growth`
    n_cuts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_dict` reads back."""
        return {"schema": SCHEMA, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Calibration":
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            got = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"not a clipscale calibration (schema {got!r}, expected {SCHEMA!r}); "
                            "pass a dict written by Calibration.to_dict, or recalibrate the fit")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(n for n in names if n not in data and n not in _OPTIONAL)
        if missing:
            raise DataError(f"calibration is missing {', '.join(missing)}; recalibrate the fit")
        kw = {k: data[k] for k in names if k in data}
        for k in ("resid_sd", "scatter_sd", "seed_sd", "growth", "fitted_max_compute", "drift", "drift_se"):
            kw[k] = float(kw[k])
        kw["n_test"] = None if kw["n_test"] is None else float(kw["n_test"])
        return cls(**kw)


def rolling_origin(compute, error, method: str, *, n_test=None, min_train_frac: float = MIN_TRAIN_FRAC,
                   n_boot: int = CUT_N_BOOT, seed: int = 0, **opts) -> pd.DataFrame:
    """Backtests inside the fitted range: for each cut (a fitted compute keeping >= min_train_frac of
    the runs), fit `method` on the runs at or below it and predict the frontier runs above it (see
    `frontier_targets`). One row per (cut, target): cut, compute, distance (decades beyond the cut's
    largest run), observed and predicted y, param_sd (bootstrap sd of the prediction), binom_sd."""
    c, e = np.asarray(compute, dtype=float), np.asarray(error, dtype=float)
    n_arr = U.check_n_test(n_test)
    n_arr = None if n_arr is None else np.broadcast_to(n_arr, c.shape)
    m = get_method(method)
    rows = []
    for cut, train, ahead in cuts(c, e, m.min_points + 1, min_train_frac):
        try:
            res = fit(c[train], e[train], method, n_boot=n_boot, seed=seed, **opts)
            pred_sd = boot_predictions(res, c[ahead]).std(axis=0) if n_boot else np.zeros(ahead.sum())
        except ClipscaleError:  # a cut the method cannot fit says nothing about the final fit's growth
            continue
        y_obs = U.to_space(e[ahead], m.space)
        rows.append(pd.DataFrame({
            "cut": cut, "compute": c[ahead], "distance": np.log10(c[ahead]) - math.log10(c[train].max()),
            "observed": y_obs, "predicted": law_log10(res.params, c[ahead]), "param_sd": pred_sd,
            "binom_sd": U.binomial_sd(e[ahead], None if n_arr is None else n_arr[ahead], m.space)}))
    cols = ["cut", "compute", "distance", "observed", "predicted", "param_sd", "binom_sd"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols, dtype=float)


def estimate_growth(residual, base_sd, distance, drift: bool = False) -> tuple[float, float, float]:
    """Maximum-likelihood (g, b, se_b) of residual_i ~ N(b distance_i, base_sd_i^2 + (g distance_i)^2):
    g >= 0 the growth of the sd and b the drift of the mean (y units per decade; b = 0 unless
    `drift`), se_b the standard error of b. (0, 0, 0) when no residual lies beyond its cut."""
    r, a, d = (np.asarray(v, dtype=float) for v in (residual, base_sd, distance))
    if r.size == 0 or not np.any(d > 0):
        return 0.0, 0.0, 0.0
    var0 = np.maximum(a ** 2, 1e-12)

    def profile(g):
        v = var0 + (g * d) ** 2
        b = float(np.sum(r * d / v) / np.sum(d * d / v)) if drift else 0.0
        return b, math.sqrt(1.0 / float(np.sum(d * d / v))) if drift else 0.0, v

    def nll(g):
        b, _, v = profile(g)
        return 0.5 * float(np.sum(np.log(v) + (r - b * d) ** 2 / v))

    best = minimize_scalar(nll, bounds=(0.0, MAX_GROWTH), method="bounded", options={"xatol": 1e-6})
    g = 0.0 if nll(0.0) <= nll(float(best.x)) else float(best.x)
    b, se, _ = profile(g)
    return g, b, se


def calibrate(fit_result: FitResult, *, n_test=None, replicates=None, seed_sd: float | None = None,
              seed_source: str = "", min_train_frac: float = MIN_TRAIN_FRAC, n_boot: int = CUT_N_BOOT,
              drift: bool = False) -> Calibration:
    """The error sources of `fit_result`'s predictions, estimated from its own fitted runs.

    n_test: test images of each fitted run (one number or one per run; None: unknown, the test-set
    noise stays inside the scatter). replicates: a configuration label per fitted run (runs sharing a
    label differ only in seed): the seed-to-seed sd is their pooled sd in the fit's space. seed_sd:
    that sd given directly (y units), with `seed_source` saying where it came from. Neither: one seed
    per configuration, so the seed noise stays inside the scatter. drift: also fit a bias growing with
    distance (measured worse on the paper's data: docs/laws.md)."""
    if fit_result.compute.size == 0:
        raise DataError("this fit carries no fitted runs (it was built from a table row); refit it to calibrate")
    c, e, space = fit_result.compute, fit_result.error, fit_result.space
    n_arr = U.check_n_test(n_test)
    n_arr = None if n_arr is None else np.broadcast_to(n_arr, c.shape)
    seed_sd, seed_source = _seed_sd(e, space, replicates, seed_sd, seed_source)
    y_fit = np.asarray(law_log10(fit_result.params, c))
    fitted_err = U.from_space(y_fit, space)  # binomial noise at the law's errors of the fitted runs
    scatter = U.intrinsic_scatter(fit_result.resid_std, fitted_err, space, n_arr, seed_sd or 0.0)
    roll = rolling_origin(c, e, fit_result.method, n_test=n_arr, min_train_frac=min_train_frac, n_boot=n_boot,
                          seed=fit_result.seed, **fit_result.options)
    base = np.sqrt(roll["param_sd"] ** 2 + scatter ** 2 + (seed_sd or 0.0) ** 2 + roll["binom_sd"] ** 2)
    growth, bias, bias_se = estimate_growth(roll["observed"] - roll["predicted"], base, roll["distance"], drift)
    n_cuts = int(roll["cut"].nunique())
    growth_source = (f"rolling-origin: {len(roll)} predictions of fitted frontier runs from {n_cuts} cuts"
                     if len(roll) else "not calibrated: the fitted runs leave no rolling-origin cut (0 used)")
    return Calibration(
        method=fit_result.method, space=space, resid_sd=float(fit_result.resid_std), scatter_sd=scatter,
        seed_sd=float(seed_sd or 0.0),
        seed_source=seed_source or ("given" if seed_sd is not None else
                                    "not separated: one seed per configuration, inside the scatter"),
        n_test=None if n_arr is None else float(np.median(n_arr)),
        test_source="n_test given" if n_arr is not None else "not separated: n_test unknown, inside the scatter",
        growth=growth, growth_source=growth_source, drift=bias, drift_se=bias_se, fitted_max_compute=float(c.max()),
        n_rolling=int(len(roll)), n_cuts=n_cuts)


def _seed_sd(error, space, replicates, seed_sd, source) -> tuple[float | None, str]:
    if replicates is not None and seed_sd is not None:
        raise DataError("give the seed-to-seed sd either as replicates or as seed_sd, not both")
    if seed_sd is not None and not (math.isfinite(seed_sd) and seed_sd >= 0):
        raise DataError(f"seed_sd must be a finite sd >= 0 in the fit's y units, got {seed_sd!r}")
    if replicates is None:
        return seed_sd, source
    found = U.seed_sd_from_replicates(U.to_space(error, space), replicates)
    if found is None:
        return None, "not separated: no configuration was run with two seeds, inside the scatter"
    return found[0], f"replicates: pooled sd over {found[1]} degrees of freedom"


def calibrated_quantiles(fit_result: FitResult, compute, probs, calibration: Calibration | None = None,
                         n_test=None) -> np.ndarray:
    """Quantiles (y units, shape (len(probs), m)) of a new frontier run's observed value at `compute`
    (the fitted compute unit). n_test: the test images it will be measured on (default: the
    calibration's, i.e. the fitted runs' median)."""
    cal = calibration or calibrate(fit_result)
    if cal.space != fit_result.space:
        raise DataError(f"the calibration is in {cal.space!r} space but the fit in {fit_result.space!r}; "
                        "calibrate this fit")
    c = np.atleast_1d(np.asarray(compute, dtype=float))
    dist = U.extrapolation_decades(c, cal.fitted_max_compute)
    n = cal.n_test if n_test is None else n_test
    return U.predictive_quantiles(boot_predictions(fit_result, c), probs, fit_result.space,
                                  scatter_sd=cal.scatter_sd, n_test=n, seed_sd=cal.seed_sd,
                                  distance=dist, growth=cal.growth, drift=cal.drift, drift_se=cal.drift_se)


def calibrated_interval(fit_result: FitResult, compute, level: float = 0.9,
                        calibration: Calibration | None = None, n_test=None) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) error fractions: the central `level` interval of a new frontier run at `compute`."""
    if not 0 < level < 1:
        raise DataError(f"level must be a fraction in (0, 1), got {level}; e.g. 0.9")
    tail = (1 - level) / 2
    q = calibrated_quantiles(fit_result, compute, [tail, 1 - tail], calibration, n_test)
    return error_bounds(U.from_space(q[0], fit_result.space), U.from_space(q[1], fit_result.space))


def new_run_interval(fit_result: FitResult, compute, level: float = 0.9, n_test=None) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) error fractions: where a new run at `compute` is expected to land, at `level`. The one
    home for the interval of a fit: calibrated (`calibrated_interval`) when the fit carries its
    calibration (FitResult.calibration, set by laws.recommended.fit_law for 'auto'), else the fit's
    bootstrap and residual scatter (FitResult.predict_interval, kind 'prediction')."""
    if fit_result.calibration:
        return calibrated_interval(fit_result, compute, level, Calibration.from_dict(fit_result.calibration), n_test)
    return fit_result.predict_interval(compute, level, kind="prediction")
