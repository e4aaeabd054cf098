"""The per-run law's intervals: bootstrap variance and the growth of the scatter with extrapolation.

A held-out run misses the law by (a) the law's own error, estimated by the bootstrap over runs,
(b) the run's scatter around the law, estimated by the fitted runs' residual sd in link units, and
(c) more of both the further the run lies beyond the fitted compute. The scatter of (b) already holds
the finite test set's binomial noise and seed-to-seed variation: every fitted run carries them (the
paper's table has no n_test column and one seed per configuration, so neither is separated).

(c) is calibrated on the fitted runs only, never on held-out ones: rolling-origin backtests refit the
law on each group's runs at or below the `origins` quantiles of its compute and predict the group's
remaining fitted runs. A prediction's sd in link units is

    sd = sqrt(bootstrap variance + scatter^2 (scale^2 + growth^2 decades^2))

(decades: extrapolation distance in compute) and the interval is a Student t with TAIL_DF degrees of
freedom; `scale` (the in-sample scatter understates a new run's) and `growth` (extra scatter per
decade) are the maximum-likelihood values on those backtest residuals.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.optimize import minimize
from scipy.special import ndtri
from scipy.stats import t as student_t

from clipscale.laws import _perrun_opt as P

#: compute quantiles of each group's fitted runs at which the rolling-origin backtests cut
ORIGINS = (0.7, 0.8, 0.9)
#: bootstrap resamples per backtest fit (the final fit uses its own n_boot)
CALIB_BOOT = 100
#: degrees of freedom of the interval's Student t: the backtest residuals have heavier tails than a
#: normal (on the paper's fitted runs a normal model holds 58% in its 50% and 95% in its 95% intervals;
#: t with 5 df 49% and 95%: docs/laws.md)
TAIL_DF = 5.0
MAX_FACTOR = 100.0


def boot_variance(boot: np.ndarray, boot_decay: np.ndarray, ln, ld, lu) -> np.ndarray:
    """Variance over bootstrap rows (B, 5) of the law's link-unit prediction at each point (m,)."""
    if len(boot) < 2:
        return np.zeros(np.shape(ln))
    ld_eff = P.log_effective_data(ld[None], lu[None], np.asarray(boot_decay, float)[:, None])
    return np.var(P.batch_log_law(boot, ln[None], ld_eff), axis=0, ddof=1)


def backtest_pieces(runs: dict[str, np.ndarray], core: Callable, seed: int, origins=ORIGINS,
                    min_runs: int = 6) -> dict[str, np.ndarray]:
    """Residuals (link units), bootstrap variance, scatter and extrapolation decades of every
    rolling-origin prediction: each origin q refits `core` on every group's runs with compute at or
    below the group's q quantile and predicts the rest of the group's runs."""
    comp = runs["size"] * runs["data"]
    out: dict[str, list] = {k: [] for k in ("resid", "var_boot", "scatter", "decades", "origin")}
    for q in origins:
        train = np.zeros(len(comp), bool)
        for lab in dict.fromkeys(runs["group"]):
            m = runs["group"] == lab
            t = m & (comp <= np.quantile(comp[m], q))
            if t.sum() >= min_runs and (m & ~t).any():
                train |= t
        if not train.any():
            continue
        fit = core({k: v[train] for k, v in runs.items()}, CALIB_BOOT, seed)
        for lab in fit.groups:
            test = ~train & (runs["group"] == lab)
            args = tuple(runs[k][test] for k in ("size", "data"))
            uniq = None if fit.decay is None else runs["unique"][test]
            pred = fit.predict_link(*args, uniq, group=lab)
            g = fit.index(lab)
            ln, ld = np.log(args[0]), np.log(args[1])
            lu = np.log(runs["unique"][test])
            out["resid"].append(P.to_link(runs["error"][test], fit.link) - pred)
            out["var_boot"].append(boot_variance(fit.boot[g], fit.boot_decay, ln, ld, lu))
            out["scatter"].append(np.full(test.sum(), fit.scatter[g]))
            out["decades"].append(fit.extrapolation_decades(*args, group=lab))
            out["origin"].append(np.full(test.sum(), q))
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in out.items()}


def quantile(level: float, tail_df: float) -> float:
    """The two-sided `level` quantile of the interval's distribution: Student t with `tail_df`
    degrees of freedom (normal for inf)."""
    q = 0.5 + level / 2
    return float(ndtri(q)) if not np.isfinite(tail_df) else float(student_t.ppf(q, tail_df))


def interval_sd(var_boot, scatter, decades, scale: float, growth: float) -> np.ndarray:
    """sqrt(bootstrap variance + scatter^2 (scale^2 + growth^2 decades^2)), link units."""
    return np.sqrt(var_boot + np.asarray(scatter) ** 2 * (scale ** 2 + (growth * np.asarray(decades)) ** 2))


def coverage(pieces: dict[str, np.ndarray], scale: float, growth: float, level: float,
             tail_df: float = TAIL_DF) -> float:
    """Fraction of the backtest predictions inside their `level` interval."""
    sd = interval_sd(pieces["var_boot"], pieces["scatter"], pieces["decades"], scale, growth)
    return float(np.mean(np.abs(pieces["resid"]) <= quantile(level, tail_df) * sd))


def calibrate(runs: dict[str, np.ndarray], core: Callable, seed: int, origins=ORIGINS,
              tail_df: float = TAIL_DF) -> tuple[float, float, dict[str, Any]]:
    """(scale, growth, calibration record): the maximum-likelihood scale and growth (both >= 0) of
    the rolling-origin residuals under a Student t with `tail_df` degrees of freedom and sd
    `interval_sd`; the record holds the backtests' coverage at 50/80/90/95%."""
    pieces = backtest_pieces(runs, core, seed, origins)
    rec: dict[str, Any] = {"origins": list(origins), "tail_df": tail_df, "n_predictions": int(len(pieces["resid"]))}
    if len(pieces["resid"]) < 10:
        rec["notes"] = [f"only {len(pieces['resid'])} rolling-origin predictions (too few groups with >= 7 runs): "
                        "the intervals are not calibrated (scale 1, growth 0)"]
        return 1.0, 0.0, rec
    r, vb, s, d = (pieces[k] for k in ("resid", "var_boot", "scatter", "decades"))

    def nll(x):
        sd = interval_sd(vb, s, d, np.exp(x[0]), np.exp(x[1]))
        return -float(np.sum(student_t.logpdf(r / sd, tail_df) - np.log(sd)))

    res = minimize(nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-6})
    scale, growth = (float(min(np.exp(v), MAX_FACTOR)) for v in res.x)
    rec.update(scale=scale, growth=growth, median_decades=float(np.median(d)),
               coverage={f"{lev:g}": coverage(pieces, scale, growth, lev, tail_df) for lev in (0.5, 0.8, 0.9, 0.95)})
    return scale, growth, rec
