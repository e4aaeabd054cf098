"""A study's summary: the numbers a reader wants first, as one typed value built once.

`build_summary` makes a `StudySummary` from a finished study's results, fits and backtest;
summary.json is its `to_dict()`, the headline (clipscale.study.demo.headline) and the demo's
targets (`unmet_targets`) read its fields, and the report shows its notes. Errors are fractions,
compute is total GMACs, times are seconds of wall time.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from clipscale import _io

# The demo's targets (issue 10, "A law worth the name"), each with its reason. A study states the
# ones it misses on its last lines and in summary.json ("unmet").
#: at most 50% error at the largest compute: the law is about something learned (chance ~99.5%)
MAX_ERROR_AT_MAX_COMPUTE = 0.5
#: the error falls over at least 2 decades of total GMACs: a law, not a local slope
MIN_COMPUTE_DECADES = 2.0
#: a compute-optimal frontier: at least 3 model sizes on it (smaller models saturate, larger overtake)
MIN_FRONTIER_MODELS = 3
#: ... and at least 6 frontier points to fit the law on
MIN_FRONTIER_POINTS = 6
#: the frontier law's R^2 in the space it is fitted in
MIN_R2 = 0.95
#: the backtest (largest-compute runs held out): mean absolute miss in error-percentage points of the
#: held-out runs on the compute frontier (the runs a frontier law claims to predict), and each of them
#: inside the law's 90% interval
MAX_BACKTEST_MAE_PCT = 3.0
#: a budgeted study ends within 10% of its wall-time budget
MAX_BUDGET_MISS = 0.10


@dataclass
class LawFacts:
    """The headline law (a fits.csv row): method, exponent, multiplier, floor (None when the form has
    none), R^2, points, backtest miss (error-% points), its status and message, and the form fitted."""

    method: str
    alpha: float | None
    coef: float | None
    floor: float | None
    r2: float | None
    n_points: int | None
    n_fit_points: int | None
    backtest_mae_pct: float | None
    status: str
    message: str
    form: str | None = None          # the form fitted: the method, or the one 'auto' chose


@dataclass
class JointFacts:
    """The joint law E(N, D) = floor + A/N^size_exp + B/D^data_exp of the headline dataset (None
    where it was not fitted: `status` says so, `message` why)."""

    formula: str | None
    floor: float | None
    A: float | None
    B: float | None
    size_exp: float | None
    data_exp: float | None
    a_opt: float | None
    n_points: int | None
    status: str
    message: str


@dataclass
class FrontierFacts:
    """The compute-optimal frontier of the headline dataset: points whose error is below every
    cheaper point's, how many each model contributes, and the error at the largest compute."""

    n_points: int
    models: dict[str, int]
    compute: list[float]
    error_at_max_compute: float
    best_error: float


@dataclass
class BacktestFacts:
    """The held-out runs' misses (error-% points) and how many fell inside the 90% interval; the
    `_frontier` fields count the held-out runs on the compute-optimal frontier (what a frontier law
    predicts), None when none is."""

    n_heldout: int
    mae_pct: float
    inside_90: int
    n_heldout_frontier: int | None = None
    mae_frontier_pct: float | None = None
    inside_90_frontier: int | None = None


@dataclass
class BudgetFacts:
    """A budgeted study: its plan (clipscale.study.sizing.Plan.to_dict's fields), what it took, and
    what its runs did (the speed each model trained at, the largest level each elastic run chose)."""

    budget_s: float
    scale: float
    predicted_s: float
    run_s: dict[str, float]
    speeds_samples_per_s: dict[str, float]
    precision: str
    measure_s: float
    notes: list[str]
    render_s: float
    actual_s: float
    n_runs: int
    samples_seen_levels: list[int]
    observed_samples_per_s: dict[str, float]
    elastic_top: dict[str, dict]


@dataclass
class StudySummary:
    """What a study found: summary.json (`to_dict`), read by the headline, the targets and the report."""

    name: str
    runs: int
    missing: list[dict[str, str]]
    notes: list[str]
    wall_s: float
    dataset: str | None = None                   # the headline law's downstream dataset
    law: LawFacts | None = None
    gmacs_total_range: list[float] | None = None
    frontier: FrontierFacts | None = None
    joint: JointFacts | None = None
    backtest: BacktestFacts | None = None
    budget: BudgetFacts | None = None
    unmet: list[str] | None = None               # the demo's targets missed (None: not checked)

    def to_dict(self) -> dict[str, Any]:
        """summary.json: JSON-ready (NaN as null); absent optional parts are left out."""
        out = dataclasses.asdict(self)
        for key in ("gmacs_total_range", "frontier", "joint", "backtest", "budget", "unmet"):
            if out[key] is None:
                del out[key]
        if out.get("backtest"):
            out["backtest"] = {k: v for k, v in out["backtest"].items() if v is not None}
        return _io.json_clean(out)


def frontier_facts(results, dataset: str) -> FrontierFacts | None:
    """The compute-optimal frontier of `dataset` in a results table (None when it has no rows)."""
    from clipscale.schema import default_metric

    sub = results[results["downstream_dataset"] == dataset].sort_values("gmacs_total", kind="stable")
    if sub.empty:
        return None
    err = 1 - sub[default_metric(dataset)].to_numpy(dtype=float)
    best, keep = float("inf"), []
    for i, e in enumerate(err):
        if e < best:
            best = e
            keep.append(i)
    on = sub.iloc[keep]
    return FrontierFacts(len(keep), {str(k): int(v) for k, v in on["arch"].value_counts().items()},
                         [float(c) for c in on["gmacs_total"]], float(err[-1]), float(err.min()))


def build_summary(spec, dataset: str, results, fits, missing, notes, wall_s, backtest=None) -> StudySummary:
    """The summary of `spec`'s study: `results` (the merged table), `fits` (the fits.csv frame, the
    headline law flagged `headline`), `backtest` (held-out rows), `missing` runs and `notes`."""
    out = StudySummary(name=spec.name, runs=len(spec.runs()), missing=missing, notes=notes, wall_s=round(wall_s, 1))
    if results is not None and not results.empty:
        out.gmacs_total_range = [float(results["gmacs_total"].min()), float(results["gmacs_total"].max())]
        out.frontier = frontier_facts(results, dataset)
    if fits is not None and len(fits):
        head = fits[fits["headline"]]
        if len(head):
            out.dataset = head.iloc[0]["downstream_dataset"]
            out.law = _facts(LawFacts, head.iloc[0].to_dict())
        joint = fits[fits["method"] == "joint"]
        if len(joint):
            out.joint = _facts(JointFacts, joint.iloc[0].to_dict())
    if backtest is not None and len(backtest) and "inside_90" in backtest:
        out.backtest = _backtest_facts(backtest, out.frontier)
    return out


def _facts(cls, row: dict[str, Any]):
    """A fits.csv row's fields of `cls`: counts as ints (the joint row's columns make them floats
    in the frame), absent or NaN values as None."""
    kw = {}
    for f in dataclasses.fields(cls):
        v = row.get(f.name)
        if isinstance(v, float) and math.isnan(v):
            v = None
        if f.name.startswith("n_") and v is not None:
            v = int(v)
        kw[f.name] = v
    return cls(**kw)


def _backtest_facts(backtest, frontier: FrontierFacts | None) -> BacktestFacts:
    inside = backtest["inside_90"].fillna(False).astype(bool)
    facts = BacktestFacts(len(backtest), float(backtest["abs_miss_pct_points"].mean()), int(inside.sum()))
    # A frontier law predicts the best error reachable at a compute, so the held-out runs that are
    # compute-optimal (on the frontier of all runs: the backtest's `on_frontier`, or, in a table
    # without it, the frontier's computes) are the ones it is meant to predict.
    if "on_frontier" in backtest.columns and backtest["on_frontier"].notna().all():
        on = backtest["on_frontier"].astype(bool).to_numpy()
    else:
        front = set(frontier.compute if frontier else [])
        on = backtest["compute"].map(lambda c: any(abs(c - f) <= 1e-9 * f for f in front)).to_numpy(bool)
    if on.any():
        facts.n_heldout_frontier = int(on.sum())
        facts.mae_frontier_pct = float(backtest["abs_miss_pct_points"][on].mean())
        facts.inside_90_frontier = int(inside[on].sum())
    return facts


def unmet_targets(s: StudySummary) -> list[str]:
    """The demo's targets (issue 10; the constants above) that this study misses, each in words."""
    out = []
    fr, bt, b = s.frontier, s.backtest, s.budget
    if fr and fr.error_at_max_compute > MAX_ERROR_AT_MAX_COMPUTE:
        out.append(f"error at the largest compute {100 * fr.error_at_max_compute:.1f}% > "
                   f"{100 * MAX_ERROR_AT_MAX_COMPUTE:.0f}%")
    if s.gmacs_total_range:
        decades = math.log10(s.gmacs_total_range[1] / s.gmacs_total_range[0])
        if decades < MIN_COMPUTE_DECADES:
            out.append(f"compute spans {decades:.2f} < {MIN_COMPUTE_DECADES:g} decades")
    if fr and len(fr.models) < MIN_FRONTIER_MODELS:
        out.append(f"{len(fr.models)} model size(s) on the frontier < {MIN_FRONTIER_MODELS}")
    if fr and fr.n_points < MIN_FRONTIER_POINTS:
        out.append(f"{fr.n_points} frontier points < {MIN_FRONTIER_POINTS}")
    r2 = s.law.r2 if s.law else None
    if r2 is None or not r2 == r2 or r2 < MIN_R2:
        out.append(f"frontier law R^2 {r2 if r2 is None else round(r2, 3)} < {MIN_R2:g}")
    if not bt:
        out.append("no backtest")
    elif not bt.n_heldout_frontier:
        out.append(f"no held-out run on the compute frontier among the backtest's {bt.n_heldout}: nothing a "
                   "frontier law claims to predict")
    else:
        if bt.mae_frontier_pct > MAX_BACKTEST_MAE_PCT:
            out.append(f"backtest mean abs. error on the held-out frontier runs {bt.mae_frontier_pct:.1f} > "
                       f"{MAX_BACKTEST_MAE_PCT:g} error-% points")
        if bt.inside_90_frontier < bt.n_heldout_frontier:
            out.append(f"only {bt.inside_90_frontier}/{bt.n_heldout_frontier} held-out frontier runs inside the "
                       "frontier law's 90% interval")
    if b and abs(b.actual_s / b.budget_s - 1) > MAX_BUDGET_MISS:
        out.append(f"wall time {b.actual_s:.0f} s is not within {100 * MAX_BUDGET_MISS:.0f}% of the "
                   f"{b.budget_s:.0f} s budget")
    return out
