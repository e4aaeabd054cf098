"""The adaptive design: a pure function from (candidates, results so far) to the next runs.

`decide(candidates, results, target_compute=..., budget=...)` returns a `Decision`: a JSON-able
record of one round (the candidates and their scores, the plan for the rest of the budget, the runs
chosen, or why the design stops). Same inputs, same decision: nothing is random but the law's
bootstrap, which is seeded. The replay (`clipscale design replay`) and a live study call it alike:
train the chosen runs, add their errors to `results`, call it again.

Round 0 is the seed design: the cheapest runs that together span 2 model sizes, 2 samples-seen
levels and 2 samples-per-size ratios (a design on one ratio leaves a joint law ill-conditioned,
arXiv 2605.08541) in at least 3 runs (the surrogate's 3 terms). Every later round fits the
surrogate (design.model) to the results, imputes the untrained runs, plans the rest of the budget
to lower the uncertainty of the frontier law at the target computes, and runs the plan's first
`batch` runs. It stops when nothing affordable is left, when no affordable run lowers the
uncertainty, or when the law's prediction interval at the targets is narrower than `tolerance_pct`.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from clipscale._io import json_clean
from clipscale.design import law as _law
from clipscale.design.candidates import Candidate, check_candidates, effective_data, levels
from clipscale.design.model import NOT_IDENTIFIED, fit_surrogate, frontier_chance, plan, uncertainty
from clipscale.errors import DataError, UserInputError
from clipscale.laws.defaults import N_BOOT

SEED_RUNS, SEED_SIZES, SEED_LEVELS = 3, 2, 2


@dataclasses.dataclass(frozen=True)
class DesignSettings:
    """How the design chooses. `method`: the frontier law it pins down (a clipscale.laws method);
    `batch`: runs per round; `tolerance_pct`: stop when the law's `level` prediction interval at
    every target is narrower than this (error-% points; None: spend the budget); `scatter_floor`:
    the least run-to-run scatter the surrogate assumes (log10 error; 0.01 = 2.3% of the error, set
    a priori); `joint`: the study also fits the joint law E(N, D), which needs 2 model sizes;
    `n_boot`, `seed`: the law's bootstrap (its interval)."""

    method: str = _law.DEFAULT_METHOD
    batch: int = 1
    tolerance_pct: float | None = None
    level: float = 0.9
    scatter_floor: float = 0.01
    joint: bool = False
    n_boot: int = N_BOOT
    seed: int = 0

    def validate(self) -> None:
        _law.check_method(self.method)
        if int(self.batch) != self.batch or self.batch < 1:
            raise UserInputError(f"batch must be a whole number >= 1 (runs per round), got {self.batch}")
        if self.tolerance_pct is not None and not (math.isfinite(self.tolerance_pct) and self.tolerance_pct > 0):
            raise UserInputError(f"tolerance must be > 0 error-% points (or none), got {self.tolerance_pct}")
        if not 0 < self.level < 1:
            raise UserInputError(f"level must be a fraction in (0, 1), got {self.level}; e.g. 0.9")
        if not self.scatter_floor > 0:
            raise UserInputError(f"scatter_floor must be > 0 (log10 error), got {self.scatter_floor}")


@dataclasses.dataclass
class Decision:
    """One round of the design, as written to design.jsonl. Costs in the budget's unit; compute in
    total GMACs; `interval_pct`: the law's prediction interval at each target (error-% points) from
    the results so far; `uncertainty`: the V-criterion before the round and after the plan."""

    round: int
    phase: str  # "seed", "adaptive", "explore" (the law is not identified yet: the cheapest run that widens
    # the compute range) or "stop"
    chosen: list[str]
    budget: float
    spent: float
    target_compute: list[float]
    method: str
    stop: str | None = None  # "budget", "tolerance" or "no gain" when phase is "stop"
    plan: list[str] = dataclasses.field(default_factory=list)
    uncertainty: float | None = None
    planned_uncertainty: float | None = None
    interval_pct: list[list[float]] | None = None
    predicted_pct: list[float] | None = None  # the law's prediction at each target (error-% points)
    surrogate: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_clean(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Decision":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def seed_design(candidates: Sequence[Candidate], start: Iterable[str] = ()) -> list[str]:
    """Keys of the cheapest runs that, added to the runs `start`, span SEED_SIZES model sizes,
    SEED_LEVELS samples-seen levels and as many samples-per-size ratios (as many as the candidates
    have) in at least SEED_RUNS runs; a run is taken only when it adds a size, a level, a ratio or a
    missing run; ties in cost go to the larger unique data, then the key. Empty when `start` spans them."""
    by_key = {c.key: c for c in candidates}
    start = set(start)

    def span(rs):
        return (levels(r.size for r in rs), levels(r.samples for r in rs), levels(r.samples / r.size for r in rs),
                len(rs))

    have = span(list(candidates))
    want = (min(SEED_SIZES, have[0]), min(SEED_LEVELS, have[1]), min(SEED_LEVELS, have[2]), min(SEED_RUNS, have[3]))
    runs = [by_key[k] for k in sorted(start)]
    for c in sorted((c for c in candidates if c.key not in start), key=lambda c: (c.cost, -(c.data or 0.0), c.key)):
        now = span(runs)
        if all(h >= w for h, w in zip(now, want)):
            break
        after = span(runs + [c])
        if any(a > h for a, h in zip(after[:3], now[:3])) or all(h >= w for h, w in zip(now[:3], want[:3])):
            runs.append(c)
    return [c.key for c in runs if c.key not in start]


def seed_cost(candidates: Sequence[Candidate]) -> float:
    """The cost of the seed design (the budget's unit)."""
    by_key = {c.key: c for c in candidates}
    return float(sum(by_key[k].cost for k in seed_design(candidates)))


def check_design(candidates: Sequence[Candidate], target_compute, budget: float | None,
                 settings: DesignSettings) -> np.ndarray:
    """Validate a design's inputs; returns the target computes as an array. Raises UserInputError for
    a target inside the candidates' compute range (interpolation), one model size when the joint law
    is asked for, or a budget below the seed design's cost (budget None: not checked)."""
    settings.validate()
    check_candidates(candidates)
    targets = np.atleast_1d(np.asarray(target_compute, float))
    if targets.size == 0 or not np.all(np.isfinite(targets) & (targets > 0)):
        raise UserInputError(f"target compute must be finite numbers > 0 (total GMACs), got {target_compute!r}")
    top = max(c.compute for c in candidates)
    if targets.min() <= top:
        raise UserInputError(f"target compute {targets.min():.3g} GMACs is inside the candidates' range (largest "
                             f"{top:.3g}): this is interpolation, not a prediction; give a target above {top:.3g}")
    if settings.joint and levels(c.size for c in candidates) < 2:
        raise UserInputError("the candidates have one model size: a joint law E(N, D) is not identifiable; add a "
                             "second model size or drop the joint law")
    if budget is None:
        return targets
    minimum = seed_cost(candidates)
    if not (math.isfinite(budget) and budget >= minimum):
        raise UserInputError(f"budget {budget:.4g} is below the seed design's cost {minimum:.4g} (same unit); "
                             f"give a budget of at least {minimum:.4g}")
    return targets


def decide(candidates: Sequence[Candidate], results: Mapping[str, float], *, target_compute, budget: float,
           settings: DesignSettings = DesignSettings(), pending: Iterable[str] = (), round_index: int = 0) -> Decision:
    """The next runs to train. `results`: error (fraction) of each trained candidate, by key;
    `pending`: keys chosen earlier whose results are not in yet (their cost counts as spent);
    `target_compute`: total GMACs the prediction is for (one or more, above every candidate);
    `budget`: the whole budget, in the candidates' cost unit (checked against the seed design's cost
    only before any run is chosen: later, the seed is paid for)."""
    pending = [k for k in pending if k not in results]
    targets = check_design(candidates, target_compute, None if results or pending else budget, settings)
    candidates = sorted(candidates, key=lambda c: c.key)  # the input's order never changes a choice
    by_key = {c.key: c for c in candidates}
    for k in list(results) + pending:
        if k not in by_key:
            raise DataError(f"result or pending run {k!r} is not a candidate; give every run of the grid "
                            "as a candidate")
    results = {k: _fraction(k, e) for k, e in results.items()}
    used = list(results) + pending
    spent = float(sum(by_key[k].cost for k in used))
    base = dict(round=round_index, budget=float(budget), spent=spent, target_compute=targets.tolist(),
                method=settings.method)
    seed = seed_design(candidates, start=used)
    if seed:
        chosen, left = [], budget - spent
        for k in seed:  # cheapest first: as many as the budget left affords
            if by_key[k].cost <= left:
                chosen.append(k)
                left -= by_key[k].cost
        if not chosen:
            return Decision(phase="stop", stop="budget", chosen=[], plan=seed, **base)
        return Decision(phase="seed", chosen=chosen, plan=seed, **base)
    return _adaptive(candidates, results, pending, targets, budget - spent, settings, base)


def _adaptive(candidates, results, pending, targets, left, settings: DesignSettings, base) -> Decision:
    keys = [c.key for c in candidates]
    comp = np.log10([c.compute for c in candidates])
    cost = np.asarray([c.cost for c in candidates], float)
    observed = np.asarray([k in results for k in keys])
    log_err = np.log10([results.get(k, 1.0) for k in keys])
    log_data = np.log10(effective_data([c.samples for c in candidates], [c.data or np.nan for c in candidates]))
    sur = fit_surrogate(np.log10([c.size for c in candidates]), log_data, observed, log_err, settings.scatter_floor)
    interval, predicted = _interval(candidates, results, targets, settings)
    trained = [i for i, k in enumerate(keys) if k in results or k in pending]
    options = [i for i in range(len(keys)) if i not in trained and cost[i] <= left]
    x_target = np.log10(targets)
    record = dict(base, interval_pct=interval, predicted_pct=predicted,
                  surrogate={"terms": list(sur.terms), "scatter_log10": sur.scatter})
    if settings.tolerance_pct is not None and interval is not None \
            and max(hi - lo for lo, hi in interval) < settings.tolerance_pct:
        return Decision(phase="stop", stop="tolerance", chosen=[], **record)
    if not options:
        return Decision(phase="stop", stop="budget", chosen=[], **record)
    chance = frontier_chance(comp, sur, np.asarray(options))
    frontier = _law.fits_frontier(settings.method)
    best, scores = plan(comp, sur, cost, trained, options, chance, left, x_target, frontier)
    table = [{"key": keys[i], "cost": float(cost[i]), "compute": float(10 ** comp[i]),
              "predicted_error": float(10 ** sur.log_error[i]), "p_frontier": float(p), "score": float(scores[i])}
             for i, p in zip(options, chance)]
    before = _finite(uncertainty(comp[trained], sur.log_error[trained], x_target, frontier))
    record.update(candidates=table, uncertainty=before, planned_uncertainty=_finite(best.uncertainty),
                  plan=[keys[i] for i in best.runs])
    if not best.runs and before is None:  # nothing identifies the law yet: widen the compute range
        above = [i for i in options if not trained or comp[i] > comp[trained].max()] or options
        pick = min(above, key=lambda i: (cost[i], keys[i]))
        return Decision(phase="explore", chosen=[keys[pick]], **record)
    if not best.runs:
        return Decision(phase="stop", stop="no gain", chosen=[], **record)
    return Decision(phase="adaptive", chosen=[keys[i] for i in best.runs[: settings.batch]], **record)


def _interval(candidates, results, targets, settings: DesignSettings):
    """(the law's prediction interval at each target, its prediction there), error-% points, from the
    results so far; (None, None) when these runs cannot identify it."""
    keys = [c.key for c in candidates if c.key in results]
    comp = [c.compute for c in candidates if c.key in results]
    law = _law.fit_law(comp, [results[k] for k in keys], settings.method, n_boot=settings.n_boot, seed=settings.seed)
    if law is None:
        return None, None
    lo, hi = _law.interval_pct(law, targets, settings.level)
    mid = 100.0 * _law.predict(law, targets)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(np.isfinite(mid))):
        return None, None
    return [[float(a), float(b)] for a, b in zip(lo, hi)], [float(m) for m in mid]


def _fraction(key: str, value) -> float:
    try:
        e = float(value)
    except (TypeError, ValueError):
        e = math.nan
    if not 0 < e <= 1:
        raise DataError(f"the error of run {key!r} must be a fraction in (0, 1], got {value!r}")
    return e


def _finite(v) -> float | None:
    return None if v is None or not math.isfinite(v) or v >= NOT_IDENTIFIED else float(v)
