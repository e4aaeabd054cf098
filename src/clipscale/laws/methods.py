"""The registry of law-fitting methods (one frozen entry each, looked up by name).

Every method fits E = coef * C^alpha (+ floor) in log10 space, except 'logodds', which fits
E / (1 - E) = coef * C^alpha (log10 odds linear in log10 compute), and 'logodds-sat', which fits
E / (1 - E) = coef * C^alpha + k (the odds level off at a floor k) in log10-odds space. A method gives a point estimate
from one sample and a vectorised estimate for a batch of bootstrap resamples.
x = log10(compute), y = log10(error fraction).

'auto' (laws.defaults.FRONTIER_METHOD, the recommended frontier law) fits no form of its own: it
names its `candidates`, and laws.fit fits the one laws.autoform.choose_form picks. Retired methods
(`RETIRED`) are refused with what to use instead.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from clipscale.errors import FitError, UserInputError, unknown
from clipscale.laws import _linear, floored
from clipscale.schema import GROUP_OPENAI


@dataclasses.dataclass(frozen=True)
class LawMethod:
    """One way of fitting a law. `point(x, y, **opts)` -> dict with alpha, coef, floor, c0, x_fit,
    y_fit (the points the law was fitted to, for R^2) and notes; `boot(xb, yb, point, **opts)` ->
    dict of parameter arrays of shape (B,) for resamples xb, yb of shape (B, n)."""

    name: str
    summary: str
    min_points: int
    defaults: dict[str, Any]
    point: Callable[..., dict[str, Any]]
    boot: Callable[..., dict[str, np.ndarray]]
    choices: dict[str, tuple] = dataclasses.field(default_factory=dict)
    #: the y the law is linear in: "log" (log10 error) or "logodds" (log10 of error / (1 - error))
    space: str = "log"
    #: fitted to the Pareto frontier of the points only (its R^2 is measured there)
    frontier: bool = False
    #: a method that chooses its form: the registered methods it chooses from, simplest first
    #: (laws.autoform.choose_form); `point` and `boot` are then never called (laws.fit fits the choice)
    candidates: tuple[str, ...] = ()

    def resolve(self, opts: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by `opts`; unknown options and bad choices are errors."""
        bad = sorted(set(opts) - set(self.defaults))
        if bad:
            raise UserInputError(f"method {self.name!r} has no option {bad[0]!r}; "
                                 f"valid options: {', '.join(sorted(self.defaults)) or '(none)'}")
        out = {**self.defaults, **opts}
        for key, valid in self.choices.items():
            if out[key] not in valid:
                raise UserInputError(f"method {self.name!r}: {key}={out[key]!r} is not valid; "
                                     f"valid choices: {', '.join(map(str, valid))}")
        return out


_line_result = _linear.line_result


def _line_boot(slope, icpt) -> dict[str, np.ndarray]:
    return {"alpha": np.asarray(slope, float), "coef": 10.0 ** np.asarray(icpt, float)}


# -- ls: plain least squares on all points (the paper's procedure for the 3 CLIP-WIT models) ------
def _ls_point(x, y):
    s, i = _linear.weighted_line(x, y, np.ones_like(x))
    return _line_result(s, i, x, y)


def _ls_boot(xb, yb, point):
    return _line_boot(*_linear.weighted_line(xb, yb, np.ones_like(xb)))


# -- paper: 5 equal-width bins of log-compute, minimum error per bin, least squares ---------------
def _paper_point(x, y, nbins, eps, binned):
    if not binned:
        return _ls_point(x, y)
    cx, cy = _linear.paper_bins(x, y, nbins, eps)
    s, i = _linear.weighted_line(cx, cy, np.ones_like(cx))
    return _line_result(s, i, cx, cy)


def _paper_boot(xb, yb, point, nbins, eps, binned):
    if not binned:
        return _ls_boot(xb, yb, point)
    cx, cy, w = _linear.paper_bins_batched(xb, yb, nbins, eps)
    return _line_boot(*_linear.weighted_line(cx, cy, w))


# -- frontier: Pareto frontier (no cheaper point is better), LS or Huber in log space -------------
def _frontier_fit(x, y, w, loss, delta):
    if loss == "huber":
        return _linear.huber_line(x, y, w, delta)
    return _linear.weighted_line(x, y, w)


def _frontier_point(x, y, loss, delta):
    keep = _linear.frontier_mask(x, y)
    if keep.sum() < 2:
        raise FitError(f"the Pareto frontier has {int(keep.sum())} point (no costlier run beats a cheaper "
                       "one); a line needs two; use method 'ls' or 'paper' for these runs")
    s, i = _frontier_fit(x, y, keep.astype(float), loss, delta)
    return _line_result(s, i, x[keep], y[keep])


def _frontier_boot(xb, yb, point, loss, delta):
    keep = _linear.frontier_mask(xb, yb).astype(float)
    return _line_boot(*_frontier_fit(xb, yb, keep, loss, delta))


def _floor_point(x, y):
    keep = _linear.frontier_mask(x, y)
    if keep.sum() < floored.MIN_FLOOR_POINTS:  # too short for 3 parameters: the 'logodds' line
        out = _frontier_point(x, y, "ls", 0.0)
        out["notes"] = [f"{int(keep.sum())} frontier points are too few for a floor (need >= "
                        f"{floored.MIN_FLOOR_POINTS}); fitted without one"]
        return out
    return floored.frontier_floor_point(x[keep], y[keep])


def _floor_boot(xb, yb, point):
    if point.get("floor") is None:
        return _frontier_boot(xb, yb, point, "ls", 0.0)
    return floored.frontier_floor_boot(xb, yb, point)


def _delegated(*args, **kwargs):
    raise FitError("a method that chooses its form is fitted through the form it chooses (laws.fit); "
                   "call clipscale.laws.fit with it")


METHODS: dict[str, LawMethod] = {m.name: m for m in (
    LawMethod("paper", "the paper's procedure: 5 equal-width log-compute bins over [min, max+0.1], "
              "min error per bin at the bin centre, least squares (binned=False: plain least squares, "
              "as for CLIP-WIT)", 2, {"nbins": 5, "eps": 0.1, "binned": True}, _paper_point, _paper_boot,
              {"binned": (True, False)}),
    LawMethod("ls", "least squares in log space on all points", 2, {},
              lambda x, y: _ls_point(x, y), _ls_boot),
    LawMethod("frontier", "Pareto frontier (points no cheaper point beats), least squares or Huber "
              "loss (delta in log10 units) in log space", 2, {"loss": "ls", "delta": 0.02},
              _frontier_point, _frontier_boot, {"loss": ("ls", "huber")}, frontier=True),
    LawMethod("logodds", "log-odds law on the compute frontier: E/(1-E) = coef*C^alpha, i.e. "
              "logit(E) linear in log C (for error curves that fall like a sigmoid in log compute); "
              "least squares or Huber in log10-odds space, where its R^2 is measured; needs 0 < E < 1",
              2, {"loss": "ls", "delta": 0.02}, _frontier_point, _frontier_boot, {"loss": ("ls", "huber")},
              space="logodds", frontier=True),
    LawMethod("logodds-sat", "saturating log-odds law on the compute frontier: E/(1-E) = coef*C^alpha + k, "
              "i.e. error falls from chance like 'logodds' and levels off at a floor k/(1+k) (confusable "
              "classes, finite models); bounded multi-start least squares in log10-odds space, where its R^2 "
              "is measured; k is always kept (its uncertainty widens the bootstrap intervals); needs 0 < E < 1",
              3, {}, _floor_point, _floor_boot, space="logodds", frontier=True),
    LawMethod("auto", "the recommended frontier law: the power law on the Pareto frontier, or the saturating "
              "log-odds law where a rolling-origin backtest inside the fitted runs shows it predicting the "
              "fitted frontier runs more than 2x better; intervals calibrated on the fitted runs "
              "(laws.calibrate)", 2, {}, _delegated, _delegated, candidates=("frontier", "logodds-sat"),
              frontier=True),
)}

#: methods that were registered once and are no longer, with what to use instead: a fits.json that
#: holds one of their fits is still read, but nothing fits them
RETIRED: dict[str, str] = {
    "saturating": "retired in issue 23: E = coef*C^alpha + floor fitted to every run predicts a typical run, "
                  "not the best one (its 90% intervals held 51% of the paper's held-out frontier runs, "
                  "docs/laws.md); use 'auto' (the recommended frontier law) or 'logodds-sat' for a floor",
}


def group_options(method: str, group, opts: dict[str, Any] | None = None) -> dict[str, Any]:
    """`opts` for fitting `method` to one group: the paper fits its 3 CLIP-WIT models (group
    'openai') by plain least squares, not binned (Cherti et al. 2023, figures.ipynb); the one
    place that rule lives. An explicit `binned` in `opts` wins."""
    out = dict(opts or {})
    if method == "paper" and "binned" not in out and group == GROUP_OPENAI:
        out["binned"] = False
    return out


def get(name: str) -> LawMethod:
    """The method registered under `name` (a retired method is a UserInputError saying what to use)."""
    if name in RETIRED:
        raise UserInputError(f"method {name!r} was {RETIRED[name]}")
    try:
        return METHODS[name]
    except KeyError:
        raise unknown("law method", name, METHODS, "pass --method with one of them") from None
