"""When a law should not be trusted: a verdict per fit, with the reason in words.

- **not learned yet**: the best fitted run is still near the task's chance error (it has come less
  than LEARNED_FRAC of the way from chance to zero error): a law through such runs describes noise
  around chance, whatever its R^2, and its extrapolation is a guess;
- **not identified**: the runs do not pin the law's parameters down (a scale parameter's 95% interval
  spans more than MAX_DECADES decades, an exponent's interval reaches zero or the wrong sign, a floor
  at its bound, fewer than MIN_POINTS distinct model or data sizes for the joint law): its numbers
  are not results and are not tabulated;
- **too few points**: fewer than MIN_POINTS fitted points (a line through two points has no scatter
  to measure).

`frontier_verdict(fit, chance)` judges a frontier law (laws.FitResult), `joint_verdict(fit, chance)`
the joint law E(N, D) (laws.JointFit); `learned(error, chance)` the runs alone. Errors are fractions.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from clipscale.laws.joint import JointFit
from clipscale.laws.result import FitResult

OK, NOT_LEARNED, NOT_IDENTIFIED, TOO_FEW = "ok", "not learned yet", "not identified", "too few points"
#: a group has learned something when its best fitted run has come at least this fraction of the way
#: from chance error to zero (0.1: e.g. 89.5% error or less where chance is 99.5%)
LEARNED_FRAC = 0.1
#: a scale parameter (A, B of the joint law) whose 95% interval spans more decades than this is not
#: identified: the runs say nothing about it (the demo's joint laws: 30-60 decades)
MAX_DECADES = 3.0
#: fitted points below which a law has no scatter to judge it by
MIN_POINTS = 3


@dataclasses.dataclass(frozen=True)
class Verdict:
    """`status` (OK, NOT_LEARNED, NOT_IDENTIFIED or TOO_FEW) and the reason in one sentence ("" when OK)."""

    status: str = OK
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def line(self, what: str) -> str:
        """One line for a reader: '<what>: not identified (A's 95% interval spans 43 decades)'."""
        return f"{what}: {self.status}" + (f" ({self.reason})" if self.reason else "")


def learned(error, chance: float | None) -> Verdict:
    """NOT_LEARNED when the best of `error` (fractions) is above (1 - LEARNED_FRAC) x `chance`; OK when
    it is below, or when the chance error is unknown (None)."""
    e = np.asarray(error, dtype=float)
    if chance is None or not e.size or not 0 < chance <= 1:
        return Verdict()
    best = float(np.nanmin(e))
    if best > (1 - LEARNED_FRAC) * chance:
        return Verdict(NOT_LEARNED, f"the best fitted run is at {100 * best:.1f}% error, chance is "
                                    f"{100 * chance:.1f}%: less than {LEARNED_FRAC:.0%} of the way to zero error")
    return Verdict()


def frontier_verdict(fit: FitResult, chance: float | None = None) -> Verdict:
    """The verdict on a frontier law (E = coef * C^alpha (+ floor), any method): learned, enough
    fitted points, an exponent whose 95% interval stays below zero, a floor off its bound."""
    first = learned(fit.error, chance)
    if not first.ok:
        return first
    if fit.n_fit_points and fit.n_fit_points < MIN_POINTS:
        return Verdict(TOO_FEW, f"{fit.n_fit_points} fitted points (needs >= {MIN_POINTS} to measure a scatter)")
    lo, hi = fit.ci.get("alpha", (math.nan, math.nan))
    if fit.alpha >= 0 or (math.isfinite(hi) and hi >= 0):
        return Verdict(NOT_IDENTIFIED, f"the compute exponent's 95% interval ({lo:.3g} to {hi:.3g}) does not "
                                       "exclude error that stays flat or rises with compute")
    if fit.floor is not None and fit.error.size:
        vmin = float(np.min(_in_space(fit.error, fit.space)))
        if fit.floor >= 0.99 * vmin:
            return Verdict(NOT_IDENTIFIED, "the floor sits at its bound (the smallest fitted value): the runs do "
                                           "not show where the frontier levels off")
    return Verdict()


def joint_verdict(fit: JointFit, chance: float | None = None) -> Verdict:
    """The verdict on the joint law E(N, D) = floor + A/N^size_exp + B/D^data_exp: learned, and A, B,
    size_exp, data_exp pinned down by the bootstrap (95% intervals)."""
    first = learned(fit.error, chance)
    if not first.ok:
        return first
    reasons = []
    for values, what in ((fit.size, "model sizes"), (fit.data, "data sizes")):
        k = len(np.unique(values))
        if values.size and k < MIN_POINTS:  # the bootstrap cannot show it: every resample has the same few
            reasons.append(f"the runs have {k} {what}: too few to pin down how error falls with them")
    for name in ("A", "B"):
        lo, hi = fit.ci.get(name, (math.nan, math.nan))
        span = math.log10(hi / lo) if lo > 0 and math.isfinite(hi) and hi > 0 else math.inf
        if span > MAX_DECADES:
            reasons.append(f"{name}'s 95% interval {_g(lo)} to {_g(hi)} spans "
                           + (f"{span:.0f} decades" if math.isfinite(span) else "without bound"))
    for name, what in (("size_exp", "model size"), ("data_exp", "data")):
        lo, hi = fit.ci.get(name, (math.nan, math.nan))
        if not (math.isfinite(lo) and lo > 0):
            reasons.append(f"{name}'s 95% interval ({_g(lo)} to {_g(hi)}) does not exclude error that does not "
                           f"fall with {what}")
    if reasons:
        floor = " (and the floor sits at its bound 0)" if fit.floor < 1e-6 * float(np.min(fit.error, initial=1)) else ""
        return Verdict(NOT_IDENTIFIED, "; ".join(reasons) + floor)
    return Verdict()


def _in_space(error, space: str) -> np.ndarray:
    e = np.asarray(error, dtype=float)
    return e / (1 - e) if space == "logodds" else e


def _g(v: float) -> str:
    return f"{v:.2g}" if math.isfinite(v) else str(v)
