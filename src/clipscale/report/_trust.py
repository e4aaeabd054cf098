"""What the report may claim about a law: clipscale.laws.trust's verdicts applied to the report's
points, the points a law was fitted to (marked in the plot), and errors kept at or below 100%.

Errors are fractions; the chance error of a plot comes from the results' `chance_error` column
(clipscale.schema.CHANCE_COL, carried into the points as `chance`), unknown when it is absent.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clipscale.laws.methods import METHODS
from clipscale.laws.rolling import frontier_targets
from clipscale.laws.trust import MIN_POINTS, NOT_IDENTIFIED, Verdict, frontier_verdict, joint_verdict, learned

__all__ = ["Verdict", "chance_of_points", "clip_error", "fitted_point_ids", "frontier_trust", "joint_trust",
           "perrun_trust", "perrun_boot"]


def chance_of_points(points: pd.DataFrame) -> float | None:
    """The chance error (fraction) the points agree on, None when unknown or when they disagree."""
    if "chance" not in points.columns:
        return None
    values = pd.to_numeric(points["chance"], errors="coerce").dropna().unique()
    return float(values[0]) if len(values) == 1 else None


def frontier_trust(result, points: pd.DataFrame) -> Verdict:
    """laws.trust's verdict on a frontier law fitted to `points` (its runs in the report): not
    learned yet when even the best of them is near chance, else `frontier_verdict` on the fit."""
    chance = chance_of_points(points)
    first = learned(points["error"].to_numpy(float), chance) if len(points) else Verdict()
    return first if not first.ok else frontier_verdict(result, chance)


def joint_trust(fit, chance: float | None) -> Verdict:
    """laws.trust's verdict on a joint law E(N, D) (laws.JointFit)."""
    return joint_verdict(fit, chance)


def perrun_trust(model, size, data, error, chance: float | None) -> Verdict:
    """The verdict on a per-run model (laws.perrun_laws) fitted to one group's runs (N, D, error
    fractions): not learned yet near chance; the joint law's own verdict (laws.trust.joint_verdict);
    for another law, not identified when the runs have fewer than laws.trust.MIN_POINTS model or data
    sizes (laws.trust has no verdict on its parameters yet)."""
    from clipscale.laws.perrun_laws import JointPerRun

    first = learned(error, chance)
    if not first.ok:
        return first
    if isinstance(model, JointPerRun) and len(model.fits) == 1:
        return joint_verdict(next(iter(model.fits.values())), chance)
    few = [f"the runs have {k} {what}: too few to pin down how error falls with them"
           for values, what in ((size, "model sizes"), (data, "data sizes"))
           for k in [len(np.unique(np.asarray(values, float)))] if k < MIN_POINTS]
    return Verdict(NOT_IDENTIFIED, "; ".join(few)) if few else Verdict()


def perrun_boot(law, n_boot: int) -> int:
    """Bootstrap resamples for a per-run law: the report's count, never more than the law's own
    (a registry entry's `n_boot`, where it sets one: its resamples are costly)."""
    return min(n_boot, getattr(law, "n_boot", n_boot))


def clip_error(values) -> list:
    """Predicted errors (fractions) as a list, capped at 1: no error above 100% is ever drawn or
    shown (an unbounded law extrapolated past chance predicts more); NaN stays NaN."""
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(v), np.nan, np.minimum(v, 1.0)).tolist()


def fitted_point_ids(result, points: pd.DataFrame) -> list[int]:
    """Ids (index labels) of `points` the law was fitted to: the runs of the fit (FitResult.compute,
    .error), only those on their compute frontier for a frontier method (laws.METHODS[...].frontier).
    A fit that carries no runs (read from a fit table) marks none."""
    c, e = np.asarray(result.compute, float), np.asarray(result.error, float)
    if not c.size or not len(points):
        return []
    method = METHODS.get(result.method)
    if method is not None and method.frontier:
        keep = frontier_targets(c, e)
        c, e = c[keep], e[keep]
    pc, pe = points["compute"].to_numpy(float), points["error"].to_numpy(float)
    hit = np.zeros(len(points), bool)
    for ci, ei in zip(c, e):
        hit |= np.isclose(pc, ci, rtol=1e-9, atol=0) & np.isclose(pe, ei, rtol=1e-9, atol=0)
    return [int(i) for i in points.index[hit]]

