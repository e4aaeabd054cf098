"""`fit(compute, error, method)`: one law from arrays, with bootstrap intervals."""
from __future__ import annotations

from typing import Any

import numpy as np

from clipscale.errors import DataError, FitError
from clipscale.laws import autoform
from clipscale.laws import methods as _methods
from clipscale.laws.result import FitResult, law_log10, to_space
from clipscale.laws.defaults import N_BOOT, SEED


def fit(compute, error, method: str = "paper", *, n_boot: int = N_BOOT, seed: int = SEED,
        ci_level: float = 0.95, label: str | None = None, **opts: Any) -> FitResult:
    """Fit E = coef * C^alpha (+ floor) to `error` (fractions, > 0) against `compute` (> 0, any unit,
    e.g. total GMACs) with `method` (see clipscale.laws.METHODS); bootstrap `n_boot` resamples of the
    points (seeded) for percentile confidence intervals at `ci_level`.

    Methods 'logodds' and 'logodds-sat' work in log10-odds space (log10(E / (1 - E))): its R^2 and residuals are
    measured there. A method with `candidates` ('auto') fits the form laws.autoform.choose_form picks from
    them: the result's `method` is that form, `chosen_from` the method asked for, and its first note says
    why (its intervals are calibrated by the caller: laws.calibrate.fit_law). `label` names the group in
    error messages. Raises DataError for bad values and FitError when the method cannot fit these points.
    """
    m = _methods.get(method)
    opts = m.resolve(opts)
    where = f" in group {label}" if label else ""
    c, e = _validate(compute, error, where)
    if m.candidates:
        _need_points(len(c), m.min_points, method, where)
        choice = autoform.choose_form(c, e, m.candidates)
        res = fit(c, e, choice.form, n_boot=n_boot, seed=seed, ci_level=ci_level, label=label)
        res.notes.insert(0, choice.note())
        res.chosen_from = method
        return res
    if m.space == "logodds" and np.any(e >= 1):
        i = int(np.flatnonzero(e >= 1)[0])
        raise DataError(f"method {method!r} needs error < 1 (log-odds of 1 is infinite){where}; error "
                        f"#{i}={float(e[i])!r}; drop runs at chance-free error 1 or use method 'frontier'")
    _need_points(len(c), m.min_points, method, where)
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must be a fraction in (0, 1), got {ci_level}; e.g. 0.95")
    x, y = np.log10(c), to_space(e, m.space)
    try:
        pt = m.point(x, y, **opts)
    except FitError as exc:
        raise FitError(f"{exc}{where}") from None
    params = {k: pt[k] for k in ("alpha", "coef", "floor", "c0")}
    x_fit, y_fit = pt["x_fit"], pt["y_fit"]
    fitted = law_log10(params, 10.0 ** x_fit)
    k = 2 + (pt["floor"] is not None) + (pt["c0"] is not None)
    r2, resid_std = _goodness(y_fit, fitted, k)
    boot, ci, notes = _bootstrap(m, x, y, pt, opts, n_boot, seed, ci_level)
    return FitResult(
        method=method, alpha=params["alpha"], coef=params["coef"], floor=params["floor"], c0=params["c0"],
        r2=r2, n_points=len(c), n_fit_points=len(x_fit), ci=ci, ci_level=ci_level,
        residuals=y - law_log10(params, c), space=m.space, n_boot=n_boot, seed=seed, boot=boot, resid_std=resid_std,
        compute=c, error=e, options=opts, notes=list(pt.get("notes", [])) + notes,
    )


def _need_points(n: int, needed: int, method: str, where: str) -> None:
    if n < needed:
        raise FitError(f"{n} point(s){where} are too few for method {method!r} (needs >= {needed}); "
                       "add runs, widen --where, or choose --group-by columns that give larger groups")


def _goodness(y_fit: np.ndarray, fitted: np.ndarray, k: int) -> tuple[float, float]:
    """R^2 of the fitted points (in the method's space; NaN when they do not vary) and the residual
    standard deviation with `k` fitted parameters (0 when no degree of freedom is left)."""
    res = y_fit - fitted
    sst = float(np.sum((y_fit - y_fit.mean()) ** 2))
    r2 = 1.0 - float(np.sum(res ** 2)) / sst if sst > 0 else float("nan")
    resid_std = float(np.sqrt(np.sum(res ** 2) / (len(y_fit) - k))) if len(y_fit) > k else 0.0
    return r2, resid_std


def _validate(compute, error, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        c = np.asarray(compute, dtype=float).ravel()
        e = np.asarray(error, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise DataError(f"compute and error must be numbers{where} ({exc})") from None
    if c.shape != e.shape:
        raise DataError(f"compute has {c.size} values but error has {e.size}{where}; pass one error per run")
    for name, v in (("compute", c), ("error", e)):
        bad = np.flatnonzero(~np.isfinite(v) | (v <= 0))
        if bad.size:
            shown = ", ".join(f"#{i}={float(v[i])!r}" for i in bad[:5])
            raise DataError(f"{name} must be finite and > 0 (log-log fit){where}; bad value(s) at position "
                            f"{shown}{' ...' if bad.size > 5 else ''}; drop or fix those rows")
    return c, e


def _bootstrap(m, x, y, pt, opts, n_boot, seed, ci_level):
    if n_boot <= 0:
        return {}, {}, []
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    raw = m.boot(x[idx], y[idx], pt, **opts)
    names = [k for k in ("alpha", "coef", "floor", "c0") if pt.get(k) is not None]
    samples = {k: np.asarray(raw[k], float) for k in names}
    ok = np.all([np.isfinite(v) for v in samples.values()], axis=0)
    notes = []
    if ok.sum() < n_boot:
        notes.append(f"{n_boot - int(ok.sum())} of {n_boot} bootstrap resamples could not be fitted "
                     "(e.g. all points at one compute) and were dropped")
    boot = {k: v[ok] for k, v in samples.items()}
    tail = (1 - ci_level) / 2
    ci = {}
    for k, v in boot.items():
        ci[k] = (float(np.quantile(v, tail)), float(np.quantile(v, 1 - tail))) if v.size else (np.nan, np.nan)
    if ok.sum() < n_boot / 2:
        notes.append("fewer than half the resamples could be fitted: the intervals are unreliable")
    return boot, ci, notes
