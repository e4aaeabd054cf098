"""Each recipe's law and its draws, for comparing two recipes (clipscale.laws.compare).

A recipe's runs are fitted with a method (`laws.fit`) and the law gets draws of its parameters:

- 'runs': the law's own bootstrap (its runs resampled, `FitResult.boot`), the draws' deviations from
  the point law widened by `small_sample_spread` (sqrt(n / (n - k)), as HC1 widens HC0);
- 'parametric', for a recipe with fewer than PARAMETRIC_BELOW runs: new errors at the runs' computes,
  the law plus Gaussian scatter in the method's log space, refitted by the same method, with the
  scatter's sd drawn as s * sqrt(dof / chi2(dof)). For a straight line this is the posterior of the
  line under a flat prior (Student's t for the slope). With 3 runs the resampled-runs bootstrap has 27
  outcomes and 4 possible slopes, and never shows more scatter than the 3 points happen to have; and
  a scatter measured on 3 runs (1 degree of freedom) is small by luck often enough that intervals built
  on it fail exactly when they look sharpest. So in `pair_draws` a recipe with parametric draws takes
  the scatter pooled over both recipes' laws (their residual variances weighted by their degrees of
  freedom): it assumes the two recipes' runs scatter alike about their laws, and says so ('parametric,
  pooled scatter').
Draws of two recipes are made with independent seeds, so that draw i of A minus draw i of B is a
draw of their difference. Curves are in the method's space (log10 error or log10 odds).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from clipscale.errors import FitError
from clipscale.laws.fit import fit
from clipscale.laws.methods import get as get_method
from clipscale.laws.defaults import N_BOOT
from clipscale.laws.result import FitResult, from_space, to_space

#: recipes with fewer runs get parametric draws: resampling 3 runs claimed p_steeper 0.999 where 81%
#: were right (benchmarks/bench_compare.py); at 4 runs a third of the resamples are lines through 2
#: distinct computes
PARAMETRIC_BELOW = 5
SCHEMES = ("auto", "runs", "parametric")
#: FitResult's names of the coefficient and the floor: read here only
_COEF, _FLOOR = "coef", "floor"


@dataclasses.dataclass(frozen=True)
class LawDraws:
    """One recipe's law: the point estimate and its draws (alpha, coef, floor, c0; None when the law
    has no such term), its runs (compute, error fractions) and how the draws were made."""

    method: str
    space: str
    point: dict[str, Any]
    draws: dict[str, Any]
    compute: np.ndarray
    error: np.ndarray
    n_fit_points: int
    scheme: str
    formula: str
    #: the draws' deviations from the point law are scaled by this (see `small_sample_spread`)
    spread: float = 1.0

    @property
    def n_draws(self) -> int:
        return int(len(self.draws["alpha"]))

    @property
    def alphas(self) -> np.ndarray:
        """The draws of the compute exponent alpha (spread applied)."""
        return self.point["alpha"] + self.spread * (self.draws["alpha"] - self.point["alpha"])

    def curve(self, compute, draws: bool = True) -> np.ndarray:
        """The law in its space at `compute`: shape (n_draws, m) for the draws, (m,) for the point."""
        x = np.log10(np.atleast_1d(np.asarray(compute, float)))
        point = _curve(self.point, x)
        if not draws:
            return point[0]
        return point + self.spread * (_curve(self.draws, x) - point)

    def error_at(self, compute, draws: bool = False) -> np.ndarray:
        """Error fractions of the law at `compute` (point law, or every draw)."""
        return from_space(self.curve(compute, draws), self.space)


def _curve(p: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """y = log10(coef * (C + c0)^alpha + floor) for parameter arrays p (each (B,) or scalar) at
    x = log10 C (m,): shape (B, m)."""
    col = lambda v: np.asarray(v, float).reshape(-1, 1)
    lc = x[None, :] if p["c0"] is None else np.log10(10.0 ** x[None, :] + col(p["c0"]))
    y = np.log10(col(p["coef"])) + col(p["alpha"]) * lc
    return y if p["floor"] is None else np.log10(10.0 ** y + col(p["floor"]))


def _named(values: dict[str, Any]) -> dict[str, Any]:
    """A fit's parameters (FitResult attributes or its bootstrap dict) under this module's names."""
    get = values.get
    return {"alpha": get("alpha"), "coef": get(_COEF), "floor": get(_FLOOR), "c0": get("c0")}


def min_runs(method: str) -> int:
    """Runs a recipe needs for a comparison: the method's minimum plus one to measure the scatter."""
    return get_method(method).min_points + 1


def law_draws(compute, error, method: str, *, n_boot: int = N_BOOT, seed: int = 0, scheme: str = "auto",
              label: str = "the recipe", opts: dict | None = None,
              scatter: tuple[float, int] | None = None) -> LawDraws:
    """Fit `method` to one recipe's runs (compute > 0 in the column's unit, error fractions in (0, 1])
    and draw `n_boot` parameter sets: scheme 'runs' (the law's bootstrap), 'parametric' (see the module
    docstring) or 'auto' (parametric below PARAMETRIC_BELOW runs). `scatter` = (sd, degrees of freedom)
    for parametric draws instead of the fit's own. FitError, naming `label`, when the runs are too few."""
    res, parametric = _fit_recipe(compute, error, method, n_boot, seed, scheme, label, opts)
    return _draws(res, parametric, n_boot, seed, label, scatter)


def pair_draws(a, b, method: str, *, n_boot: int = N_BOOT, seed: int = 0, scheme: str = "auto",
               labels=("a", "b"), opts=(None, None), pool: bool = True) -> tuple[LawDraws, LawDraws]:
    """Two recipes' laws and draws (a, b = (compute, error) each), with independent seeds; a recipe with
    parametric draws and fewer than PARAMETRIC_BELOW runs takes the scatter pooled over both laws
    (`pooled_scatter`), and when both do, they share its draws (one common scatter, as in the posterior
    of two lines with one sd; independent draws of it would make the difference look surer than it is).
    pool=False: each recipe's own scatter (benchmarks/bench_compare.py measures both)."""
    seeds = np.random.SeedSequence(seed).generate_state(3)
    fits = [_fit_recipe(*runs, method, n_boot, int(s), scheme, label, o)
            for runs, s, label, o in zip((a, b), seeds, labels, opts)]
    shared = (*pooled_scatter(fits[0][0], fits[1][0]), int(seeds[2])) if pool else None
    out = [_draws(res, par, n_boot, int(s), label, shared if par and res.n_points < PARAMETRIC_BELOW else None)
           for (res, par), s, label in zip(fits, seeds, labels)]
    return out[0], out[1]


def scatter_of(res: FitResult) -> tuple[float, int]:
    """(residual sd in the method's log space, its degrees of freedom: fitted points - parameters)."""
    return res.resid_std, res.n_fit_points - _n_params({_FLOOR: getattr(res, _FLOOR), "c0": res.c0})


def pooled_scatter(*fits: FitResult) -> tuple[float, int]:
    """The laws' residual variances pooled, weighted by their degrees of freedom: (sd, total dof)."""
    parts = [scatter_of(r) for r in fits]
    dof = sum(max(d, 0) for _, d in parts)
    return (float(np.sqrt(sum(s * s * max(d, 0) for s, d in parts) / dof)) if dof else 0.0), int(dof)


def _fit_recipe(compute, error, method, n_boot, seed, scheme, label, opts) -> tuple[FitResult, bool]:
    """The recipe's fit (bootstrapped unless its draws will be parametric) and whether they will be."""
    if scheme not in SCHEMES:
        raise FitError(f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}")
    c, e = np.asarray(compute, float).ravel(), np.asarray(error, float).ravel()
    need = min_runs(method)
    if len(c) < need:
        raise FitError(f"{label} has {len(c)} run(s); comparing laws with method {method!r} needs at least "
                       f"{need} per recipe ({need - 1} for the law plus one to measure its scatter); add runs "
                       "or widen --where")
    parametric = scheme == "parametric" or (scheme == "auto" and len(c) < PARAMETRIC_BELOW)
    return fit(c, e, method, n_boot=0 if parametric else n_boot, seed=seed, label=label, **(opts or {})), parametric


def _draws(res: FitResult, parametric: bool, n_boot: int, seed: int, label: str, scatter) -> LawDraws:
    """LawDraws from a recipe's fit: its bootstrap, or parametric draws (own or given scatter)."""
    attrs = {k: getattr(res, k) for k in ("alpha", _COEF, _FLOOR, "c0")}
    k = _n_params(attrs)
    if parametric:
        how = "parametric, pooled scatter" if scatter else "parametric"
        raw, spread = _parametric(res, n_boot, seed, label, scatter), 1.0
    else:
        raw, how, spread = res.boot, "runs", small_sample_spread(res.n_fit_points, k)
    draws = _named(raw)
    ok = np.all([np.isfinite(v) for v in draws.values() if v is not None], axis=0) & (draws["coef"] > 0)
    if ok.sum() < max(n_boot // 2, 1):
        raise FitError(f"only {int(ok.sum())} of {n_boot} draws of {label}'s law could be fitted; its runs "
                       "do not pin a law down (too few distinct computes): add runs or use --method ls")
    draws = {k: None if v is None else np.asarray(v, float)[ok] for k, v in draws.items()}
    return LawDraws(method=res.method, space=res.space, point=_named(attrs), draws=draws, compute=res.compute,
                    error=res.error, n_fit_points=res.n_fit_points, scheme=how, formula=res.formula(3), spread=spread)


def _n_params(attrs: dict[str, Any]) -> int:
    return 2 + (attrs[_FLOOR] is not None) + (attrs["c0"] is not None)


def small_sample_spread(n_fit: int, k: int) -> float:
    """sqrt(n / (n - k)): the resampled-runs bootstrap spreads a law with k parameters fitted to n
    points like the residual variance divided by n instead of n - k (the HC0 sandwich); its draws'
    deviations from the point law are widened by this factor (as HC1 widens HC0), 1.12 for 10 points
    and 2 parameters. Measured in benchmarks/bench_compare.py: without it the reported 90% crossover
    intervals held the truth 85% of the time at 10-30 runs per recipe, with it 88%."""
    return float(np.sqrt(n_fit / (n_fit - k))) if n_fit > k else 1.0


def _parametric(res: FitResult, n_boot: int, seed: int, label: str, scatter=None) -> dict[str, np.ndarray]:
    """Refits of the method to errors simulated at the runs' computes: the law plus Gaussian scatter
    (log10 space of the method) whose sd is drawn as s * sqrt(dof / chi2(dof)); `scatter` = (s, dof)
    or (s, dof, seed of the sd draws), else the fit's own s and dof."""
    m = get_method(res.method)
    k = _n_params({_FLOOR: getattr(res, _FLOOR), "c0": res.c0})
    s, dof = (scatter or scatter_of(res))[:2]
    if dof < 1 or not s > 0:
        raise FitError(f"{label}: method {res.method!r} fits {res.n_fit_points} of its {res.n_points} runs, too "
                       f"few to measure the scatter around a law with {k} parameters (needs {k + 1}); "
                       "use --method ls (all runs) or add runs")
    rng = np.random.default_rng(seed)
    x = np.log10(res.compute)
    point = m.point(x, to_space(res.error, res.space), **res.options)  # the method's own start values
    chi = np.random.default_rng(scatter[2]) if scatter and len(scatter) > 2 else rng
    sd = s * np.sqrt(dof / chi.chisquare(dof, size=n_boot))
    y = _curve(_named({k: getattr(res, k) for k in ("alpha", _COEF, _FLOOR, "c0")}), x)
    y = y + sd[:, None] * rng.standard_normal((n_boot, len(x)))
    with np.errstate(over="ignore", invalid="ignore"):  # the t tails reach absurd laws: dropped as non-finite
        return m.boot(np.broadcast_to(x, y.shape), y, point, **res.options)


def independent_seeds(seed: int) -> tuple[int, int]:
    """Two seeds whose random streams are independent (one per recipe)."""
    a, b = np.random.SeedSequence(seed).generate_state(2)
    return int(a), int(b)
